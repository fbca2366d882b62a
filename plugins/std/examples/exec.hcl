step "migrate" {
  action             = std.exec
  command            = "sh"
  args               = ["-c", "./manage.py migrate --noinput && ./manage.py check"]
  dir                = "./backend"
  env                = { DJANGO_SETTINGS_MODULE = "app.settings.prod" }
  allowed_exit_codes = [0]
}
# step.migrate.exit_code, step.migrate.stdout, step.migrate.stderr
