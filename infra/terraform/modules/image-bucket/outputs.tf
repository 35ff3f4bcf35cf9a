output "bucket_name" {
  description = "The bucket's name (EASEL_S3_BUCKET)."
  value       = aws_s3_bucket.images.id
}

output "bucket_arn" {
  description = "The bucket's ARN."
  value       = aws_s3_bucket.images.arn
}

output "bucket_region" {
  description = "The bucket's region (EASEL_S3_REGION)."
  value       = aws_s3_bucket.images.region
}

output "predictions_prefix" {
  description = "Key prefix of generated images, the scope of the expiry rule and of the inference policy."
  value       = local.predictions_prefix
}

output "inference_policy_arn" {
  description = "ARN of the least-privilege policy for the inference service's role or user."
  value       = aws_iam_policy.inference.arn
}

output "inference_env" {
  description = "Storage settings for the inference service's environment."
  value = merge(
    {
      EASEL_S3_BUCKET = aws_s3_bucket.images.id
      EASEL_S3_REGION = aws_s3_bucket.images.region
    },
    var.key_prefix == "" ? {} : { EASEL_S3_PREFIX = var.key_prefix },
  )
}
