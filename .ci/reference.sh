# Sourced by .ci/run: a Python with PyTorch 2.15, torchvision, pytorch-fid and safetensors for
# the tests that compare with the reference implementations (PyTorch weight export, pytorch-fid's
# Inception features and Fréchet distance); exports DLP_TORCH_PYTHON. The virtual environment
# lives outside the clone and is made once (about 3 GB from PyPI). Best effort: without it those
# tests print that they skipped their PyTorch half.
reference_python() {
  local venv="$HOME/.cache/dlpapers/reference-venv"
  local check="import torch, torchvision, pytorch_fid, safetensors, scipy"
  if ! "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
    echo "making $venv (torch==2.15.0, torchvision, pytorch-fid, safetensors, scipy) once"
    python3 -m venv "$venv" >/dev/null 2>&1 || return 1
    timeout 1800 "$venv/bin/pip" install --quiet "torch==2.15.0" torchvision pytorch-fid safetensors scipy \
      >/dev/null 2>&1 || return 1
  fi
  "$venv/bin/python" -c "$check" >/dev/null 2>&1 || return 1
  export DLP_TORCH_PYTHON="$venv/bin/python"
  echo "DLP_TORCH_PYTHON=$DLP_TORCH_PYTHON"
}
reference_python || echo "no PyTorch reference: the comparisons with PyTorch and pytorch-fid will be skipped"
