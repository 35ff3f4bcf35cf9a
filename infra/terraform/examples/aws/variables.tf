variable "region" {
  description = "AWS region of the bucket (EASEL_S3_REGION)."
  type        = string
  default     = "us-east-1"
}

variable "bucket_name" {
  description = "Globally unique bucket name (EASEL_S3_BUCKET)."
  type        = string
}

variable "prediction_retention_days" {
  description = "Days before generated images are deleted."
  type        = number
  default     = 7
}

variable "cors_allowed_origins" {
  description = "Web app origins that fetch images with fetch()/canvas, e.g. [\"https://app.example.com\"]."
  type        = list(string)
  default     = []
}

variable "inference_role_names" {
  description = "Existing IAM roles of the inference pods (IRSA / EKS Pod Identity) to grant access to."
  type        = list(string)
  default     = []
}

variable "create_access_key" {
  description = "Create an IAM user with an access key for inference outside AWS (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)."
  type        = bool
  default     = false
}
