# The Alpha Members Platform deployment: four stages, three environments,
# an atomic Helm deploy with automatic rollback.
#
#   pipectl plan  -env dev -var image_tag=1.4.2
#   pipectl apply -env prod -var image_tag=1.4.2
#
# Stage by stage it follows the deployment workflow: pre-deploy checks (in
# parallel), deployment, validation, post-deploy. A failed deploy or
# validation rolls the release back and collects diagnostics; stakeholders
# hear about success and failure alike, and every run leaves a summary.

pipeline "alpha-members" {
  description = "Deploy the Alpha Members Platform to Kubernetes with Helm"
}

# ---------------------------------------------------------------- inputs

variable "image_tag" {
  type        = string
  description = "Tag of the alpha-members image to deploy."

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "The image tag must be a valid OCI tag: letters, digits, '_', '.' and '-', at most 128 characters."
  }
  validation {
    condition     = var.image_tag != "latest"
    error_message = "Deploy an immutable tag, not \"latest\": rollback needs to know what ran before."
  }
}

variable "image_repository" {
  type        = string
  default     = "registry.local/alpha-members"
  description = "Image repository of the platform."
}

variable "release_name" {
  type        = string
  default     = "alpha-members"
  description = "Name of the Helm release."
}

variable "scan_severities" {
  type        = list(string)
  default     = ["CRITICAL", "HIGH"]
  description = "Vulnerability severities that fail the image scan."

  validation {
    condition     = alltrue([for s in var.scan_severities : contains(["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"], s)])
    error_message = "Severities are UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL."
  }
}

variable "trivy_db_repository" {
  type        = string
  default     = ""
  description = "OCI repository of the trivy vulnerability DB (a mirror of ghcr.io/aquasecurity/trivy-db:2); empty: the DB already in trivy's cache. See docs/plugins/trivy.md."
}

variable "notify_webhook" {
  type        = string
  default     = ""
  sensitive   = true
  description = "Webhook that receives deployment notifications (Slack-compatible); empty: no notification."
}

variable "kubeconfig" {
  type        = string
  default     = ""
  description = "Kubeconfig of the target cluster; empty: found as kubectl finds it (KUBECONFIG, ~/.kube/config)."
}

variable "kube_context" {
  type        = string
  default     = ""
  description = "Kubeconfig context; empty: the current one."
}

variable "registry_plain_http" {
  type        = bool
  default     = false
  description = "Pull charts from OCI registries over plain HTTP (a local registry)."
}

variable "base_url" {
  type        = string
  default     = ""
  description = "Where health checks and smoke tests reach the platform; empty: http:// and service_ip when that is set, else https:// and the environment's host."
}

variable "service_ip" {
  type        = string
  default     = ""
  description = "A fixed ClusterIP for the platform's Service, e.g. \"10.96.0.80\": the checks then reach the pods through it (the sandbox, from the machine the cluster runs on); empty: the cluster assigns one."
}

variable "namespace" {
  type        = string
  default     = ""
  description = "Namespace of the release; empty: the environment's (development, staging, production)."
}

variable "rollout_deadline" {
  type        = string
  default     = ""
  description = "How long the release may take to become ready, e.g. \"90s\"; empty: the environment's."
}

variable "monitor_window" {
  type        = string
  default     = ""
  description = "How long post-deploy watches the pods for restarts, e.g. \"30s\"; empty: the environment's."
}

variable "smoke_tests" {
  type = map(object({
    path   = string
    status = optional(number, 200)
  }))
  default = {
    home    = { path = "/" }
    login   = { path = "/api/v1/auth/status" }
    members = { path = "/api/v1/members?limit=1", status = 401 }
  }
  description = "Smoke tests: HTTP paths of the platform and the status each must answer."
}

# ---------------------------------------------------------- environments

environment "dev" {
  namespace        = "development"
  replicas         = 1
  autoscaling      = { enabled = false, min = 1, max = 1 }
  resources        = { requests = { cpu = "100m", memory = "128Mi" }, limits = { cpu = "250m", memory = "256Mi" } }
  host             = "dev.members.example.com"
  secrets_path     = "secret/data/alpha-members/dev"
  values           = ["values/dev.yaml"]
  approval         = false
  monitor_window   = "1m"
  rollout_deadline = "5m"
}

environment "staging" {
  namespace        = "staging"
  replicas         = 2
  autoscaling      = { enabled = false, min = 2, max = 2 }
  resources        = { requests = { cpu = "250m", memory = "256Mi" }, limits = { cpu = "500m", memory = "512Mi" } }
  host             = "staging.members.example.com"
  secrets_path     = "secret/data/alpha-members/staging"
  values           = ["values/staging.yaml"]
  approval         = false
  monitor_window   = "5m"
  rollout_deadline = "10m"
}

environment "prod" {
  namespace        = "production"
  replicas         = 3
  autoscaling      = { enabled = true, min = 3, max = 20 }
  resources        = { requests = { cpu = "500m", memory = "512Mi" }, limits = { cpu = "1", memory = "1Gi" } }
  host             = "members.example.com"
  secrets_path     = "secret/data/alpha-members/production"
  values           = ["values/prod.yaml"]
  approval         = true # the deploy stage's approval gate applies here
  monitor_window   = "5m"
  rollout_deadline = "15m"
}

# --------------------------------------------------------------- plugins

# helm and k8s talk to the same cluster: the one the kubeconfig names.
plugin "helm" {
  version             = ">= 0.1"
  kubeconfig          = var.kubeconfig != "" ? var.kubeconfig : null
  context             = var.kube_context != "" ? var.kube_context : null
  registry_plain_http = var.registry_plain_http
}

plugin "k8s" {
  version    = ">= 0.1"
  kubeconfig = var.kubeconfig != "" ? var.kubeconfig : null
  context    = var.kube_context != "" ? var.kube_context : null
}

plugin "trivy" {
  version       = ">= 0.1"
  db_repository = var.trivy_db_repository != "" ? var.trivy_db_repository : null
  cache_dir     = "${path.root}/.pipectl/trivy-cache"
}

plugin "std" { version = ">= 0.1" }

# ---------------------------------------------------------------- locals

locals {
  chart       = "${path.root}/alpha-members"
  image       = "${var.image_repository}:${var.image_tag}"
  namespace   = var.namespace != "" ? var.namespace : env.namespace
  deadline    = var.rollout_deadline != "" ? var.rollout_deadline : env.rollout_deadline
  window      = var.monitor_window != "" ? var.monitor_window : env.monitor_window
  base_url    = var.base_url != "" ? var.base_url : var.service_ip != "" ? "http://${var.service_ip}" : "https://${env.host}"
  selector    = { "app.kubernetes.io/instance" = var.release_name }
  values      = [for f in env.values : "${local.chart}/${f}"]
  max_pods    = env.autoscaling.enabled ? env.autoscaling.max : env.replicas
  secret_list = ["alpha-members-db", "alpha-members-jwt", "alpha-members-smtp"]
  work_dir    = "${path.root}/.pipectl/${pipeline.name}/${pipeline.environment}"

  # What every notification and the run's summary say about the deploy.
  summary = {
    pipeline    = pipeline.name
    environment = pipeline.environment
    image       = local.image
    release     = var.release_name
    namespace   = local.namespace
    url         = local.base_url
  }

  # What the pipeline sets on top of the environment's values file.
  overrides = {
    image        = { repository = var.image_repository, tag = var.image_tag }
    replicaCount = env.replicas
    autoscaling = {
      enabled     = env.autoscaling.enabled
      minReplicas = env.autoscaling.min
      maxReplicas = env.autoscaling.max
    }
    resources = env.resources
    service   = { clusterIP = var.service_ip }
    ingress = {
      enabled = true
      hosts   = [{ host = env.host, paths = [{ path = "/", pathType = "Prefix" }] }]
    }
    secrets = { vaultPath = env.secrets_path, names = local.secret_list }
  }
}

# ------------------------------------------------- stage 1: pre-deploy checks
# Every check runs in parallel: none refers to another.

stage "pre_deploy" {
  step "chart_lint" {
    action = helm.lint
    chart  = local.chart
    values = local.values
    set    = local.overrides
    strict = true
  }

  step "values_validate" {
    action = helm.template # renders with values.schema.json checks: the values validate against the chart's schema
    chart  = local.chart
    values = local.values
    set    = local.overrides
  }

  step "secrets_check" {
    action    = k8s.secrets_exist
    namespace = local.namespace
    names     = local.secret_list
    source    = env.secrets_path
  }

  step "cluster_access" {
    action    = k8s.check_access
    namespace = local.namespace
    permissions = [
      { resource = "deployments", verbs = ["get", "list", "create", "update", "patch"] },
      { resource = "services", verbs = ["get", "create", "update"] },
      { resource = "secrets", verbs = ["get", "list", "create", "update"] },
      { resource = "pods", verbs = ["get", "list", "watch"] },
    ]
  }

  step "image_scan" {
    action         = trivy.image
    image          = local.image
    severities     = var.scan_severities
    ignore_unfixed = true
  }

  step "chart_scan" {
    action     = trivy.config
    target     = local.chart
    values     = local.values # scanned as this environment deploys it
    set        = local.overrides
    severities = var.scan_severities
  }

  step "secret_scan" {
    action = trivy.secret
    target = local.chart
  }

  step "capacity" {
    action    = k8s.capacity
    namespace = local.namespace
    pods      = local.max_pods
    requests  = env.resources.requests
  }
}

# ------------------------------------------------------- stage 2: deployment

stage "deploy" {
  depends_on = [stage.pre_deploy]

  # In prod the run pauses before the deploy until someone other than
  # the person who started it approves (four eyes): `pipectl approve RUN`
  # (or reject RUN -reason ...) from any terminal or CI job. Unanswered
  # within the hour, the run fails and the pipeline's on_failure
  # notifies. (Deploy windows and freezes go here too: docs/language.md.)
  approval {
    when                = env.approval
    message             = "Deploy alpha-members ${var.image_tag} to ${pipeline.environment}?"
    timeout             = "1h"
    allow_self_approval = false
  }

  # The workflow's "pre-deploy checklist": what each check established,
  # written once every one of them passed (an artifact of the run).
  step "checklist" {
    action  = std.render
    output  = "${local.work_dir}/pre-deploy-checklist.md"
    content = <<-EOT
      # Pre-deploy checklist: ${var.release_name} ${var.image_tag} to ${pipeline.environment}

      - [x] Chart passes linting (strict): ${local.chart}
      - [x] Values validate against values.schema.json: ${join(", ", env.values)} and the pipeline's overrides
      - [x] Required secrets exist in ${local.namespace}: ${join(", ", step.secrets_check.names)} (from ${env.secrets_path})
      - [x] Cluster access: ${step.cluster_access.server_version} as ${step.cluster_access.user}, ${step.cluster_access.checked} permissions allowed
      - [x] Image passes security scan: ${local.image} has no ${join(" or ", var.scan_severities)} vulnerability
      - [x] Chart configuration passes its scan; no secret in the chart's files
      - [x] Resources available: needs ${lookup(step.capacity.needed, "cpu", "?")} CPU, ${lookup(step.capacity.needed, "memory", "?")} memory, ${lookup(step.capacity.needed, "pods", "?")} pods; free: ${lookup(step.capacity.available, "cpu", "?")} CPU, ${lookup(step.capacity.available, "memory", "?")} memory
    EOT
  }

  step "select_values" {
    action  = std.render
    output  = "${local.work_dir}/values.yaml"
    content = yamlencode(local.overrides)
  }

  # The environment's values file, then the pipeline's overrides: the same
  # values select_values records, given to Helm directly so that the plan
  # can diff the release before anything is written.
  step "manifests" {
    action     = helm.template
    chart      = local.chart
    release    = var.release_name
    namespace  = local.namespace
    values     = local.values
    set        = local.overrides
    validate   = true # against the cluster's API, not only the chart's schema
    depends_on = [step.select_values]
  }

  step "release" {
    action           = helm.upgrade
    release          = var.release_name
    chart            = local.chart
    namespace        = local.namespace
    values           = local.values
    set              = local.overrides
    install          = true
    atomic           = true # Helm rolls back by itself when the upgrade fails
    wait             = true
    create_namespace = true
    depends_on       = [step.manifests]
    timeout          = local.deadline
    # A pod that cannot start (crash loop, image not pullable, unschedulable)
    # fails the deploy this long after its first sign, not at the deadline.
    failure_grace = "20s"
  }

  step "rollout" {
    action     = k8s.rollout_status
    namespace  = local.namespace
    deployment = step.release.name
    timeout    = local.deadline
  }

  # The workflow's "release status": the release and its recent history.
  step "release_status" {
    action     = helm.status
    release    = step.release.name
    namespace  = local.namespace
    history    = 5
    depends_on = [step.rollout]
  }

  # Handle deployment failures: back to the previous revision, then find out
  # why. A failed upgrade has rolled itself back already (atomic); this
  # rollback is for a release that went in but whose rollout failed after.
  on_failure {
    step "rollback" {
      action            = helm.rollback
      when              = run.steps.release.status == "succeeded"
      release           = var.release_name
      namespace         = local.namespace
      wait              = true
      continue_on_error = true # diagnose even when there is nothing to roll back to
      timeout           = "5m"
    }
    step "investigate" {
      action     = k8s.diagnose
      namespace  = local.namespace
      selector   = local.selector
      depends_on = [step.rollback]
    }
  }
}

# ------------------------------------------------------- stage 3: validation

stage "validate" {
  depends_on = [stage.deploy]

  step "pods_ready" {
    action    = k8s.wait_ready
    namespace = local.namespace
    selector  = local.selector
    min_ready = env.replicas
    timeout   = "5m"
  }

  step "helm_tests" {
    action     = helm.test
    release    = step.release.name
    namespace  = local.namespace
    depends_on = [step.pods_ready]
    timeout    = "5m"
  }

  step "endpoints" {
    action     = k8s.endpoints
    namespace  = local.namespace
    service    = step.release.name
    min_ready  = env.replicas
    depends_on = [step.pods_ready]
  }

  step "health" {
    action          = std.http_check
    url             = "${local.base_url}/healthz"
    expected_status = 200
    depends_on      = [step.endpoints]
    # The Service's new endpoints reach kube-proxy a moment after the
    # endpoints step sees them: poll briefly first, then back off.
    retries  = 4
    interval = "250ms"
    retry { # about a minute in all: 2s, 4s, ... 32s between attempts
      attempts = 6
      backoff  = "2s"
    }
  }

  step "smoke" {
    action          = std.http_check
    for_each        = var.smoke_tests
    url             = "${local.base_url}${each.value.path}"
    expected_status = each.value.status
    depends_on      = [step.health]
    retry {
      attempts = 3
      backoff  = "5s"
    }
  }

  # The workflow's "validation results": an artifact of the run.
  step "validation_results" {
    action     = std.render
    output     = "${local.work_dir}/validation-results.md"
    content    = <<-EOT
      # Validation of ${var.release_name} revision ${step.release.revision} in ${pipeline.environment}

      - [x] Pods ready: ${step.pods_ready.ready} (${join(", ", step.pods_ready.pods)})
      - [x] Helm tests: ${step.helm_tests.passed} passed, ${step.helm_tests.failed} failed
      - [x] Service endpoints ready: ${step.endpoints.ready}
      - [x] Health check: HTTP ${step.health.status_code} from ${local.base_url}/healthz after ${step.health.attempts} attempt(s)
      %{~for name, t in var.smoke_tests}
      - [x] Smoke test ${name}: HTTP ${step.smoke[name].status_code} from ${t.path}
      %{~endfor}
    EOT
    depends_on = [step.smoke, step.helm_tests]
  }

  on_failure {
    step "validation_rollback" {
      action            = helm.rollback
      release           = var.release_name
      namespace         = local.namespace
      wait              = true
      continue_on_error = true
      when              = pipeline.environment != "dev" # keep a broken dev release around for debugging
    }
    step "validation_investigate" {
      action    = k8s.diagnose
      namespace = local.namespace
      selector  = local.selector
    }
  }
}

# ----------------------------------------------------- stage 4: post-deploy

stage "post_deploy" {
  depends_on = [stage.validate]

  step "security_posture" {
    action     = trivy.config
    manifest   = step.release.manifest # what is deployed, not what the chart could render
    severities = var.scan_severities
  }

  # What runs meets the restricted Pod Security Standard.
  step "pod_security" {
    action    = k8s.pod_security
    namespace = local.namespace
    selector  = merge(local.selector, { "app.kubernetes.io/name" = "alpha-members" }) # the platform's pods, not its test hook
    level     = "restricted"
  }

  step "release_notes" {
    action        = std.render
    output        = "${local.work_dir}/release-notes.md"
    template_file = "${local.chart}/docs/release-notes.md.tpl"
    vars = {
      version     = var.image_tag
      image       = local.image
      environment = pipeline.environment
      revision    = step.release.revision
      url         = local.base_url
    }
  }

  step "documentation" {
    action        = std.render
    output        = "${local.work_dir}/DEPLOYMENT.md"
    template_file = "${local.chart}/docs/deployment.md.tpl"
    vars = {
      environment = pipeline.environment
      namespace   = local.namespace
      release     = step.release.name
      revision    = step.release.revision
      host        = env.host
      replicas    = env.replicas
      autoscaling = env.autoscaling
    }
  }

  step "notify" {
    action = std.webhook
    when   = var.notify_webhook != ""
    url    = var.notify_webhook
    text   = "alpha-members ${var.image_tag} is live in ${pipeline.environment} (revision ${step.release.revision}): ${local.base_url}"
    payload = {
      summary = merge(local.summary, {
        status        = "deployed"
        run           = run.id
        revision      = step.release.revision
        chart         = step.release.chart
        pods_ready    = step.pods_ready.ready
        helm_tests    = step.helm_tests.passed
        smoke_tests   = length(var.smoke_tests)
        release_notes = step.release_notes.path
      })
      release_notes = step.release_notes.content
    }
  }

  # The workflow's "deployment summary": an artifact of the run.
  step "deployment_summary" {
    action  = std.render
    output  = "${local.work_dir}/deployment-summary.md"
    content = <<-EOT
      # ${var.release_name} ${var.image_tag} in ${pipeline.environment}

      | | |
      |---|---|
      | release | ${step.release.name}, revision ${step.release.revision} (${step.release_status.status}), chart ${step.release.chart} |
      | namespace | ${local.namespace} |
      | image | ${local.image} |
      | url | ${local.base_url} |
      | pods ready | ${step.pods_ready.ready} |
      | alert rules | ${join(", ", step.alerts_configured.found)} |
      | release notes | ${step.release_notes.path} |

      Revisions, newest first:
      %{~for h in step.release_status.history}
      - ${h.revision}: ${h.status} (${h.chart}) ${h.description}
      %{~endfor}
    EOT
  }

  # Monitoring alerts configured: the chart's alert rules are live API
  # objects the Prometheus Operator picks up.
  step "alerts_configured" {
    action    = k8s.exists
    namespace = local.namespace
    objects   = [{ api_version = "monitoring.coreos.com/v1", kind = "PrometheusRule", name = step.release.name }]
  }

  step "monitor" {
    action    = k8s.no_restarts
    namespace = local.namespace
    selector  = local.selector
    window    = local.window
  }
}

# ------------------------------------------------- pipeline-level handlers

on_failure {
  step "notify_failure" {
    action = std.webhook
    when   = var.notify_webhook != ""
    url    = var.notify_webhook
    text = join("\n", concat(
      ["alpha-members ${var.image_tag} did not deploy to ${pipeline.environment}: run ${run.id} ${run.status}."],
      [for f in run.failed_steps : "${f.address}: ${f.error}"],
    ))
    payload = {
      summary = merge(local.summary, {
        status       = run.status
        run          = run.id
        failed_steps = [for f in run.failed_steps : f.address]
      })
    }
  }
}

finally {
  step "record" {
    action  = std.render
    output  = "${local.work_dir}/summary.json"
    content = jsonencode(local.summary)
  }
}

# ---------------------------------------------------------------- outputs

output "url" {
  value       = local.base_url
  description = "Where the platform answers."
}

output "revision" {
  value       = step.release.revision
  description = "The Helm revision this run deployed."
}

output "release_notes" {
  value = step.release_notes.path
}
