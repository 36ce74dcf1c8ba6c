#!/usr/bin/env bash
# System packages Session Monitor needs on Debian 12 / Ubuntu: Qt's runtime libraries (the xcb
# platform for a real window, EGL/GL and fontconfig also for offscreen), and optionally PostgreSQL
# for the multi-room tests. Safe to run again: installs only what is missing, never upgrades.
set -euo pipefail
want_pg=0
[ "${1:-}" = "--with-postgres" ] && want_pg=1

pkgs=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libglib2.0-0
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
      libxcb-xinerama0 libxcb-randr0 libxcb-xfixes0
      libpulse0   # libpulse0: QtMultimedia, which plays the alarm tones
      fonts-dejavu-core)  # the fonts ui/theme.py falls back to; the glyph tests check against them
# for the tests: PostgreSQL, poppler-utils (pdftotext reads the PDF report back), and a real X
# server with xdotool (tests/gui/test_real_window.py shows the dashboard at real screen sizes)
[ "$want_pg" = 1 ] && pkgs+=(postgresql poppler-utils xvfb xdotool)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-system-deps: not a Debian-like system; install the equivalents of: ${missing[*]}" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-system-deps: missing packages ${missing[*]} and not root: ask your administrator to install them" >&2
    exit 1
  fi
fi
echo "install-system-deps: installing ${missing[*]}"
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq || true
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
  --no-install-recommends --no-upgrade "${missing[@]}"
