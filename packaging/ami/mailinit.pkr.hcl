# Packer template: an Amazon Linux 2023 AMI with mailinit baked in.
# The provisioners in the build block are the part to copy into an existing template.
# Build the RPMs first (packaging/rpm/mailinit.spec), then:
#   packer init . && packer build -var secret_id=mailinit/ses-smtp -var mydomain=example.com .
# Every instance launched from the image configures its mail relay on its first boot
# (mailinit-firstboot.service); user-data or mailinit:* tags can override the values here.

packer {
  required_plugins {
    amazon = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "mode" {
  type        = string
  default     = "builtin"
  description = "builtin (mailinit's relay, package mailinit-mta) or postfix"
}

variable "secret_id" {
  type        = string
  description = "Secrets Manager secret holding the SES SMTP credentials"
}

variable "mydomain" {
  type        = string
  description = "Domain of the sender addresses (an SES-verified identity)"
}

variable "rpm_dir" {
  type    = string
  default = "rpmbuild/RPMS/x86_64"
}

variable "mailinit_version" {
  type    = string
  default = "0.1.0-1"
}

source "amazon-ebs" "al2023" {
  region        = var.region
  instance_type = "t3.small"
  ssh_username  = "ec2-user"
  ami_name      = "al2023-mailinit-{{timestamp}}"
  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-x86_64"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}

build {
  sources = ["source.amazon-ebs.al2023"]

  # --- mailinit: copy from here ---
  provisioner "file" {
    sources = [
      "${var.rpm_dir}/mailinit-${var.mailinit_version}.amzn2023.x86_64.rpm",
      "${var.rpm_dir}/mailinit-mta-${var.mailinit_version}.amzn2023.x86_64.rpm",
    ]
    destination = "/tmp/"
  }

  provisioner "shell" {
    environment_vars = [
      "MAILINIT_MODE=${var.mode}",
      "MAILINIT_SECRET_ID=${var.secret_id}",
      "MAILINIT_MYDOMAIN=${var.mydomain}",
    ]
    inline = [
      "set -eu",
      "if [ \"$MAILINIT_MODE\" = builtin ]; then sudo dnf install -y /tmp/mailinit-*.rpm; else sudo dnf install -y postfix /tmp/mailinit-[0-9]*.rpm; fi",
      "printf 'mode = %s\\nsecret_id = %s\\nmydomain = %s\\n' \"$MAILINIT_MODE\" \"$MAILINIT_SECRET_ID\" \"$MAILINIT_MYDOMAIN\" | sudo tee /etc/mailinit/mailinit.conf >/dev/null",
      "sudo systemctl enable mailinit-firstboot.service",
      "if [ \"$MAILINIT_MODE\" = builtin ]; then sudo systemctl enable mailinit-relay.socket; sudo alternatives --set mta /usr/sbin/sendmail.mailinit; else sudo systemctl enable postfix.service; fi",
      "mailinit --version",
      # Last: forget this build instance, so that every instance of the image runs its first boot.
      "sudo mailinit clean",
    ]
  }
  # --- mailinit: to here ---
}
