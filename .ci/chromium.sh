#!/usr/bin/env bash
# Headless Chromium for the inbox's end-to-end browser test
# (inbox/browser_test.go, driven with chromedp). Sourced by .ci/run; also fine
# to run or source by hand:  source .ci/chromium.sh && go test ./inbox -run Browser
#
# Installs Debian's chromium and the Noto CJK fonts (the pages are Chinese)
# only when missing, so it returns at once on a prepared machine, and exports
# HOTLINE_TEST_CHROMIUM; without that variable the browser test skips.
# Written to be sourced under `set -euo pipefail`: it changes no shell options.

hotline_chromium_setup() {
	local bin=/usr/bin/chromium missing=()
	[ -x "$bin" ] || missing+=(chromium)
	if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -qi 'noto'; }; then
		missing+=(fonts-noto-cjk)
	fi
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "== installing ${missing[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
			apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
		fi
	fi
	[ -x "$bin" ] || { echo "chromium is not at $bin" >&2; return 1; }
	export HOTLINE_TEST_CHROMIUM="$bin"
}

hotline_chromium_setup
