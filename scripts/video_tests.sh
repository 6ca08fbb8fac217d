#!/usr/bin/env bash
# The video tests in their own virtual environment: MediaPipe 0.10.21 (the last release
# that ships BlazePose in its wheel and runs offline) needs numpy<2 and protobuf<5
# (constraints-video.txt), which the rest of skelkd's pinned set does not use. Creates
# .venv-video (or $SKELKD_VIDEO_VENV) when absent, installs the video extra into it and
# runs tests/test_video.py there, where a missing extra is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${SKELKD_VIDEO_VENV:-.venv-video}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q torch==2.13.0
"$venv/bin/python" -m pip install -q -c constraints-video.txt -e ".[video,test]"
SKELKD_REQUIRE_VIDEO=1 "$venv/bin/python" -m pytest tests/test_video.py
