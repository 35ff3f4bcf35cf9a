# A bucket for Easel's images and the credentials the inference service uses to reach it.
#
#   cd infra/terraform/examples/aws
#   terraform init
#   terraform apply -var bucket_name=my-easel-images
#   terraform output inference_env

module "images" {
  source = "../../modules/image-bucket"

  bucket_name               = var.bucket_name
  prediction_retention_days = var.prediction_retention_days
  cors_allowed_origins      = var.cors_allowed_origins
  inference_role_names      = var.inference_role_names
}

# For inference running outside AWS (another cloud's Kubernetes, Cloud Run): a user with only the
# module's policy. On EKS prefer a role (inference_role_names) and no long-lived key.
resource "aws_iam_user" "inference" {
  count = var.create_access_key ? 1 : 0
  name  = "${var.bucket_name}-inference"
}

resource "aws_iam_user_policy_attachment" "inference" {
  count      = var.create_access_key ? 1 : 0
  user       = aws_iam_user.inference[0].name
  policy_arn = module.images.inference_policy_arn
}

resource "aws_iam_access_key" "inference" {
  count = var.create_access_key ? 1 : 0
  user  = aws_iam_user.inference[0].name
}
