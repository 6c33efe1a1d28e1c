#!/usr/bin/env bash
# Installs the Debian packages that OpenStudio runs beside it (Icecast, coturn)
# and that the real-stack tests drive (Chromium, Firefox ESR with PulseAudio,
# WebKitGTK's WebDriver with Xvfb and GStreamer, Caddy, nftables for the NAT
# lab, sox, ffmpeg), when they are missing and apt-get is available. Quiet
# and fast when everything is there already.
set -euo pipefail

want=()
command -v icecast2 >/dev/null 2>&1 || want+=(icecast2)
command -v turnserver >/dev/null 2>&1 || want+=(coturn)
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v sox >/dev/null 2>&1 || want+=(sox)
command -v ffmpeg >/dev/null 2>&1 || want+=(ffmpeg)
command -v firefox-esr >/dev/null 2>&1 || want+=(firefox-esr)
command -v pulseaudio >/dev/null 2>&1 || want+=(pulseaudio)
command -v pactl >/dev/null 2>&1 || want+=(pulseaudio-utils)
command -v caddy >/dev/null 2>&1 || want+=(caddy)
command -v WebKitWebDriver >/dev/null 2>&1 || want+=(webkit2gtk-driver)
command -v Xvfb >/dev/null 2>&1 || want+=(xvfb)
command -v nft >/dev/null 2>&1 || want+=(nftables)
gst=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
[ -e "$gst/libgstogg.so" ] || want+=(gstreamer1.0-plugins-base)
[ -e "$gst/libgstpulseaudio.so" ] || want+=(gstreamer1.0-plugins-good)
[ ${#want[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install: apt-get is not available; missing: ${want[*]} (tests that need them will fail)" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install: Debian packages ${want[*]}…"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${want[@]}" >/dev/null
