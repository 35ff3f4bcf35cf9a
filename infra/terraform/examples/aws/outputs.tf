output "inference_env" {
  description = "Non-secret storage settings for the inference service (infra/k8s/inference/config.env)."
  value       = module.images.inference_env
}

output "inference_policy_arn" {
  description = "The least-privilege policy for the inference service."
  value       = module.images.inference_policy_arn
}

output "access_key_id" {
  description = "AWS_ACCESS_KEY_ID for the inference service (when create_access_key = true)."
  value       = var.create_access_key ? aws_iam_access_key.inference[0].id : null
}

output "secret_access_key" {
  description = "AWS_SECRET_ACCESS_KEY for the inference service: `terraform output -raw secret_access_key`."
  value       = var.create_access_key ? aws_iam_access_key.inference[0].secret : null
  sensitive   = true
}
