plugin "trivy" {
  db_repository = "registry.internal.example.com/mirror/trivy-db:2" # a mirror of ghcr.io/aquasecurity/trivy-db:2
  cache_dir     = "/var/cache/trivy"
  max_db_age    = "3d"
}
