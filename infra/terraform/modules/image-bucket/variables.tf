variable "bucket_name" {
  description = "Name of the S3 bucket for generated images (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens."
  }
}

variable "key_prefix" {
  description = "The inference service's EASEL_S3_PREFIX (no leading or trailing slash), or \"\" for none. Images are written under <key_prefix>/predictions/."
  type        = string
  default     = ""

  validation {
    condition     = var.key_prefix == "" || can(regex("^[^/].*[^/]$|^[^/]$", var.key_prefix))
    error_message = "key_prefix must not start or end with a slash."
  }
}

variable "prediction_retention_days" {
  description = "Generated images under predictions/ are deleted this many days after they were written."
  type        = number
  default     = 7

  validation {
    condition     = var.prediction_retention_days >= 1 && floor(var.prediction_retention_days) == var.prediction_retention_days
    error_message = "prediction_retention_days must be a whole number of days, at least 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS; null encrypts with S3-managed keys (SSE-S3, AES256)."
  type        = string
  default     = null
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to fetch presigned image URLs with fetch()/canvas. Empty: no CORS rule (an <img src> works without one)."
  type        = list(string)
  default     = []
}

variable "inference_role_names" {
  description = "IAM roles (e.g. an IRSA / EKS Pod Identity role) to attach the inference policy to."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Allow `destroy` to delete a bucket that still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
