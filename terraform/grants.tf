# Every file in grants/ is written by `lapse render` from one request in requests/.
module "grants" {
  source = "./grants"
}
