# An S3 bucket for Easel's generated images: private (images are served through presigned GETs),
# encrypted at rest, with generated images expiring after prediction_retention_days, and an IAM
# policy that lets the inference service write and read those images and nothing else.

data "aws_partition" "current" {}

locals {
  # Where the inference service writes: `${EASEL_S3_PREFIX}/predictions/<id>/<n>.<ext>`.
  predictions_prefix = var.key_prefix == "" ? "predictions/" : "${var.key_prefix}/predictions/"
  # Built from the name rather than read from the bucket, so that policies are known at plan time.
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
}

resource "aws_s3_bucket" "images" {
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "images" {
  bucket                  = aws_s3_bucket.images.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: access is decided by IAM and the bucket policy alone.
resource "aws_s3_bucket_ownership_controls" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # Fewer KMS calls (and costs) per object with SSE-KMS; ignored for SSE-S3.
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    id     = "expire-generated-images"
    status = "Enabled"

    filter {
      prefix = local.predictions_prefix
    }

    expiration {
      days = var.prediction_retention_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_cors_configuration" "images" {
  count  = length(var.cors_allowed_origins) > 0 ? 1 : 0
  bucket = aws_s3_bucket.images.id

  cors_rule {
    allowed_methods = ["GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["*"]
    max_age_seconds = 3600
  }
}

# Refuse plain-HTTP access, including presigned URLs rewritten to http://.
data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.bucket_arn,
      "${local.bucket_arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "images" {
  bucket = aws_s3_bucket.images.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 rejects a bucket policy while the public access block is still being applied.
  depends_on = [aws_s3_bucket_public_access_block.images]
}

# Least privilege for the inference service: PutObject to store images, GetObject for presigned GET
# URLs (a presigned URL carries the signer's permissions) and for /v1/files; only under predictions/.
# No ListBucket, no DeleteObject: expiry is the lifecycle rule's job.
data "aws_iam_policy_document" "inference" {
  statement {
    sid     = "ReadWriteGeneratedImages"
    effect  = "Allow"
    actions = ["s3:PutObject", "s3:GetObject"]
    resources = [
      "${local.bucket_arn}/${local.predictions_prefix}*",
    ]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseImageBucketKey"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "inference" {
  name        = "${var.bucket_name}-inference"
  description = "Easel inference: write and read generated images in s3://${var.bucket_name}/${local.predictions_prefix}"
  policy      = data.aws_iam_policy_document.inference.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "inference" {
  for_each   = toset(var.inference_role_names)
  role       = each.value
  policy_arn = aws_iam_policy.inference.arn
}
