pipeline "p" {}
variable "image_tag" {}
