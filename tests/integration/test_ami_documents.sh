#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The AMI baking documents in packaging/ami, tried for syntax with the tools Debian has:
# the Packer template with hclfmt (built here from Debian's source of HashiCorp's HCL, offline,
# as there is no packer in Debian: syntax and canonical formatting), its shell provisioner with
# `bash -n`; the EC2 Image Builder component parsed with python3-yaml and checked against the
# documented AWSTOE schema, its bash with `bash -n` (ami_check.py). Both end with
# `mailinit clean` and name the packages' version.
# shellcheck disable=SC2317 # scenario functions run through mi_scenario
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init
mi_require go bash

AMI=$MAILINIT_SOURCE_DIR/packaging/ami
CHECK=$MI_LIB_DIR/ami_check.py
HCL_SRC=/usr/share/gocode/src/github.com/hashicorp/hcl/v2/cmd/hclfmt
[[ -d $HCL_SRC ]] || mi_skip "golang-github-hashicorp-hcl-v2-dev is not installed"
# The packages' version-release: mailinit --version and the spec's Release.
release=$(sed -n 's/^Release:[[:space:]]*\([0-9]*\).*/\1/p' "$MAILINIT_SOURCE_DIR/packaging/rpm/mailinit.spec")
VERSION=$("$MAILINIT" --version | cut -d' ' -f2)-$release

# hclfmt from Debian's Go sources, GOPATH mode (no module download).
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=${GOCACHE:-${HOME:-$MI_TMP}/.cache/go-build} \
	go build -o "$MI_TMP/hclfmt" github.com/hashicorp/hcl/v2/cmd/hclfmt >"$MI_TMP/go.log" 2>&1 ||
	mi_fail "cannot build hclfmt: $(cat "$MI_TMP/go.log")"
HCLFMT=$MI_TMP/hclfmt

t_packer_syntax() {
	mi_run fmt "$HCLFMT" -check "$AMI/mailinit.pkr.hcl"
	mi_assert_rc 0
	diff -u "$AMI/mailinit.pkr.hcl" fmt.out >fmt.diff || mi_fail "not in hclfmt's format: $(cat fmt.diff)"
}

t_packer_provisioner() {
	mi_run check "$MI_PYTHON" "$CHECK" packer "$AMI/mailinit.pkr.hcl" "$VERSION"
	[[ $MI_RC -eq 0 ]] || mi_fail "$(cat check.out check.err)"
}

t_component() {
	mi_run check "$MI_PYTHON" "$CHECK" component "$AMI/mailinit-component.yaml" "$VERSION"
	[[ $MI_RC -eq 0 ]] || mi_fail "$(cat check.out check.err)"
}

# The checks find what they are meant to, on broken copies.
t_checks_can_fail() {
	sed 's/^build {/build {{/' "$AMI/mailinit.pkr.hcl" >bad.pkr.hcl
	mi_run bad_hcl "$HCLFMT" -check bad.pkr.hcl
	mi_assert_rc 1
	mi_assert_grep bad_hcl.err 'Argument or block definition required'
	sed 's/"sudo mailinit clean",/"sudo mailinit clean; fi",/' "$AMI/mailinit.pkr.hcl" >bad2.pkr.hcl
	mi_run bad_sh "$MI_PYTHON" "$CHECK" packer bad2.pkr.hcl "$VERSION"
	mi_assert_rc 1
	mi_assert_grep bad_sh.out 'shell provisioner: bash -n'
	sed -e 's/action: S3Download/action: S3Downloader/' -e 's/{{ MyDomain }}/{{ MyDomian }}/' \
		-e 's/^schemaVersion: 1.0/schemaVersion: 2.0/' "$AMI/mailinit-component.yaml" >bad.yaml
	mi_run bad_yaml "$MI_PYTHON" "$CHECK" component bad.yaml "$VERSION"
	mi_assert_rc 1
	mi_assert_grep bad_yaml.out "unknown action 'S3Downloader'"
	mi_assert_grep bad_yaml.out '\{\{ MyDomian \}\} is not a declared parameter'
	mi_assert_grep bad_yaml.out 'schemaVersion is 2.0, not 1.0'
	sed '/^            - mailinit clean$/d' "$AMI/mailinit-component.yaml" >noclean.yaml
	mi_run noclean "$MI_PYTHON" "$CHECK" component noclean.yaml "$VERSION"
	mi_assert_rc 1
	mi_assert_grep noclean.out 'does not end with `mailinit clean`'
}

mi_scenario packer_syntax t_packer_syntax
mi_scenario packer_provisioner t_packer_provisioner
mi_scenario component t_component
mi_scenario checks_can_fail t_checks_can_fail
mi_finish
