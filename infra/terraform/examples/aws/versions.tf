terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }

  # Keep state remote in real use (it holds the access key's secret when create_access_key = true):
  # backend "s3" { bucket = "my-terraform-state", key = "easel/images.tfstate", region = "us-east-1" }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project = "easel"
    }
  }
}
