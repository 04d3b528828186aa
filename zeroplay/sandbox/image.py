"""Build the sandbox image, offline, and reuse it while nothing that went into it changed.

    built = build_image(config.sandbox)      # BuiltImage(tag='zeroplay-sandbox:3f9c...', ...)

The image holds Python 3.11, the host's exact hypothesis version (copied from the host's
installed files, so no package index is needed) and a non-root user, nothing else. With
`base_image: debootstrap` (the default) the base is a Debian rootfs made by `debootstrap`
and loaded with `docker import`: no container registry is contacted at any point. Any
other `base_image` (e.g. `python:3.11-slim`) is used as the Dockerfile's FROM instead.

The tag is a content hash of the Dockerfile, the copied files and the base image's id,
so a stale image is rebuilt and an up-to-date one is found with one inspect call.
This module builds images; it does not run untrusted code (the pool does).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from zeroplay.config import SandboxConfig
from zeroplay.errors import ImageBuildError
from zeroplay.sandbox.engine import connect
from zeroplay.sandbox.supervisor import JOB_UID

log = logging.getLogger(__name__)

DOCKERFILE = Path(__file__).with_name("Dockerfile")
SUPERVISOR = Path(__file__).with_name("supervisor.py")  # the image's entry point
CODEC = Path(__file__).with_name("codec.py")  # imported by the supervisor, from beside it
SITE_PACKAGES = ("hypothesis",)  # installed into the image with their dependencies
BASE_REPOSITORY = "zeroplay-base"
# Bump when the way the debootstrap base is made changes, so old bases are not reused.
BASE_RECIPE = {"variant": "minbase", "include": ["python3"], "trim": 1}
ROOTFS_TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
               "var/cache/apt/archives", "var/lib/apt/lists", "var/log")
DEBOOTSTRAP_MIN_FREE = 800 * 2**20  # rootfs (~260 MB) + its tarball, with margin
DOCKER_MIN_FREE = 600 * 2**20

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    content_hash: str
    base: str
    cached: bool
    seconds: float


def build_image(
    cfg: SandboxConfig, *, force: bool = False, progress: Progress | None = None
) -> BuiltImage:
    """Return the up-to-date sandbox image, building the base and the image if needed."""
    say = _reporter(progress)
    start = time.monotonic()
    client = connect()
    with _build_lock():
        base_ref = _ensure_base(client, cfg, say)
        base_id = client.images.get(base_ref).id
        with tempfile.TemporaryDirectory(prefix="zeroplay-image-") as tmp:
            context = Path(tmp)
            content_hash = _fill_context(context, base_id)
            tag = f"{cfg.image}:{content_hash}"
            if not force and _image_exists(client, tag):
                # `latest` follows the code: another checkout may have moved it.
                client.images.get(tag).tag(cfg.image, "latest")
                say(f"sandbox image {tag} is up to date")
                return BuiltImage(tag, content_hash, base_ref, True, time.monotonic() - start)
            _check_docker_space(client)
            say(f"building sandbox image {tag} from {base_ref}")
            _docker_build(client, context, tag, base_ref, content_hash)
        _verify(client, tag)
        client.images.get(tag).tag(cfg.image, "latest")
        _remove_stale(client, cfg.image, keep=tag)
    say(f"built sandbox image {tag}")
    return BuiltImage(tag, content_hash, base_ref, False, time.monotonic() - start)


def _reporter(progress: Progress | None) -> Progress:
    def say(message: str) -> None:
        log.info(message)
        if progress is not None:
            progress(message)

    return say


@contextmanager
def _build_lock() -> Iterator[None]:
    """Serialize builds on this host: two runs starting at once build the image once."""
    lock_dir = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zeroplay"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "image-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _image_exists(client, ref: str) -> bool:
    import docker

    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


# --- base image -------------------------------------------------------------------------


def base_tag(cfg: SandboxConfig) -> str:
    """Tag of the debootstrap base: changes with the suite and the recipe, not the mirror."""
    recipe = json.dumps({"suite": cfg.debian_suite, **BASE_RECIPE}, sort_keys=True)
    return f"{BASE_REPOSITORY}:{cfg.debian_suite}-{_sha(recipe.encode())[:12]}"


def _ensure_base(client, cfg: SandboxConfig, say: Progress) -> str:
    import docker

    if cfg.base_image != "debootstrap":
        if not _image_exists(client, cfg.base_image):
            say(f"pulling base image {cfg.base_image}")
            try:
                client.images.pull(cfg.base_image)
            except docker.errors.APIError as exc:
                raise ImageBuildError(
                    f"cannot pull base image {cfg.base_image!r} ({exc.explanation or exc}); "
                    "without a registry use sandbox.base_image=debootstrap"
                ) from None
        return cfg.base_image
    tag = base_tag(cfg)
    if _image_exists(client, tag):
        return tag
    work = Path(tempfile.mkdtemp(prefix="zeroplay-rootfs-", dir=_scratch_dir()))
    try:
        rootfs = work / "rootfs"
        say(f"building Debian {cfg.debian_suite} base with debootstrap (about a minute)")
        build_rootfs(rootfs, cfg.debian_suite, cfg.debian_mirror)
        say(f"importing base image {tag}")
        _import_rootfs(client, rootfs, work / "rootfs.tar", tag)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tag


def _scratch_dir() -> str:
    return os.environ.get("TMPDIR") or ("/var/tmp" if os.path.isdir("/var/tmp") else "/tmp")


def build_rootfs(dest: Path, suite: str, mirror: str) -> None:
    """A minimal Debian rootfs with python3 in `dest`, trimmed of docs and caches.

    Needs root. Raises ImageBuildError on missing space, missing debootstrap, or a
    failed debootstrap (with the tail of its log).
    """
    if os.geteuid() != 0:
        raise ImageBuildError(
            "debootstrap needs root: run `zeroplay sandbox build-image` as root, or use "
            "a registry base with --set sandbox.base_image=python:3.11-slim"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    check_free_space(dest.parent, DEBOOTSTRAP_MIN_FREE, "the debootstrap rootfs")
    debootstrap = _find_debootstrap()
    log_path = dest.parent / "debootstrap.log"
    cmd = [debootstrap, f"--variant={BASE_RECIPE['variant']}",
           f"--include={','.join(BASE_RECIPE['include'])}", suite, str(dest), mirror]
    with open(log_path, "w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    if rc != 0:
        text = log_path.read_text(errors="replace")
        if is_disk_full(text):
            raise ImageBuildError(
                f"disk full while debootstrap wrote {dest}; free space there "
                "(or point TMPDIR at a larger disk) and retry"
            )
        tail = " | ".join(line for line in text.strip().splitlines()[-3:])
        raise ImageBuildError(
            f"debootstrap {suite} from {mirror} failed (exit {rc}): {tail}; check that the "
            "mirror is reachable (--set sandbox.debian_mirror=URL) and retry"
        )
    for rel in ROOTFS_TRIM:
        target = dest / rel
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir()


def _find_debootstrap() -> str:
    found = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    if found:
        return found
    if shutil.which("apt-get"):
        log.info("debootstrap is missing; installing it with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "debootstrap"]
        if subprocess.run(install, env=env, capture_output=True, check=False).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
            subprocess.run(install, env=env, capture_output=True, check=False)
        found = shutil.which("debootstrap", path="/usr/sbin:/sbin:/usr/bin:/bin")
        if found:
            return found
    raise ImageBuildError(
        "debootstrap is not installed and could not be installed; install it with "
        "`apt-get install debootstrap`"
    )


def _import_rootfs(client, rootfs: Path, tarball: Path, tag: str) -> None:
    import docker

    tar = subprocess.run(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."],
        capture_output=True, text=True, check=False,
    )
    if tar.returncode != 0:
        reason = "disk full" if is_disk_full(tar.stderr) else tar.stderr.strip()[-300:]
        raise ImageBuildError(f"could not pack the rootfs for docker import: {reason}")
    repository, _, version = tag.partition(":")
    try:
        client.api.import_image_from_file(
            str(tarball), repository=repository, tag=version,
            changes=['CMD ["python3"]', "ENV LANG=C.UTF-8"],
        )
    except docker.errors.APIError as exc:
        raise _api_failure("docker import of the base rootfs", exc) from None
    if not _image_exists(client, tag):
        raise ImageBuildError(f"docker import finished but {tag} does not exist")


# --- the sandbox image ------------------------------------------------------------------


def _fill_context(context: Path, base_id: str) -> str:
    """Copy the Dockerfile, the supervisor with its codec, and site/ into `context`; return
    their content hash."""
    digest = hashlib.sha256()
    digest.update(f"base {base_id}\n".encode())
    for source, name in ((DOCKERFILE, "Dockerfile"), (SUPERVISOR, "supervisor.py"),
                         (CODEC, "codec.py")):
        shutil.copy(source, context / name)
        digest.update(f"{name} {_sha(source.read_bytes())}\n".encode())
    for rel, source in sorted(site_files().items()):
        target = context / "site" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        digest.update(f"site/{rel} {_sha(source.read_bytes())}\n".encode())
    return digest.hexdigest()[:16]


def site_files() -> dict[str, Path]:
    """Installed files of SITE_PACKAGES and their dependencies, by path below site-packages."""
    files: dict[str, Path] = {}
    seen: set[str] = set()
    todo = list(SITE_PACKAGES)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise ImageBuildError(
                f"{name} is not installed on the host; the sandbox image copies the host's "
                f"version: install zeroplay's dependencies (pip install -e .)"
            ) from None
        for entry in dist.files or []:
            rel = entry.as_posix()
            if rel.startswith("..") or "__pycache__" in rel or rel.endswith(".pyc"):
                continue
            files[rel] = Path(dist.locate_file(entry))
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return files


def _docker_build(client, context: Path, tag: str, base_ref: str, content_hash: str) -> None:
    import docker

    labels = {
        "zeroplay.content-hash": content_hash,
        "zeroplay.hypothesis": importlib.metadata.version("hypothesis"),
        "zeroplay.base": base_ref,
    }
    lines: list[str] = []
    try:
        for event in client.api.build(
            path=str(context), tag=tag, buildargs={"BASE_IMAGE": base_ref}, labels=labels,
            network_mode="none", rm=True, forcerm=True, pull=False, decode=True,
        ):
            if "error" in event:
                lines.append(event["error"])
                break
            lines.extend(event.get("stream", "").splitlines())
    except docker.errors.APIError as exc:
        raise _api_failure("docker build", exc) from None
    if not _image_exists(client, tag):
        text = "\n".join(lines)
        if is_disk_full(text):
            raise ImageBuildError(
                "disk full during docker build; free space with `docker system prune` and retry"
            )
        tail = " | ".join(line.strip() for line in lines[-4:] if line.strip())
        raise ImageBuildError(f"docker build of {tag} failed: {tail}")


VERIFY_SCRIPT = (
    "import pwd, sys, hypothesis; "
    "print(pwd.getpwnam('sandbox').pw_uid, hypothesis.__version__, '%d.%d' % sys.version_info[:2])"
)


def _verify(client, tag: str) -> None:
    """Run the new image without network and check its Python, Hypothesis and job user."""
    want = f"{JOB_UID} {importlib.metadata.version('hypothesis')} 3.11"
    out = client.containers.run(
        tag, ["python3", "-c", VERIFY_SCRIPT], network_mode="none", remove=True,
        read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"],
    ).decode().strip()
    if out != want:
        client.images.remove(tag, force=True)
        raise ImageBuildError(f"sandbox image check failed: expected {want!r}, got {out!r}")


def _remove_stale(client, repository: str, keep: str) -> None:
    """Untag older builds of `repository` (an image is deleted with its last tag unless a
    container uses it), so that rebuilds do not fill the disk."""
    import docker

    for image in client.images.list(name=repository, filters={"label": "zeroplay.content-hash"}):
        for tag in image.tags:
            if tag.partition(":")[0] != repository or tag in (keep, f"{repository}:latest"):
                continue
            try:
                client.images.remove(tag)
                log.info("removed stale sandbox image %s", tag)
            except docker.errors.APIError:
                pass  # a container still uses it: keep it


# --- helpers ----------------------------------------------------------------------------


def check_free_space(path: Path, need: int, what: str) -> None:
    free = shutil.disk_usage(path).free
    if free < need:
        raise ImageBuildError(
            f"disk full: {free // 2**20} MiB free in {path}, {what} needs about "
            f"{need // 2**20} MiB; free space there (or point TMPDIR at a larger disk)"
        )


def _check_docker_space(client) -> None:
    root = client.info().get("DockerRootDir")
    if root and os.path.isdir(root):  # only when the daemon runs on this host
        check_free_space(Path(root), DOCKER_MIN_FREE, "the image build")


def is_disk_full(text: str) -> bool:
    text = text.lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def _api_failure(what: str, exc) -> ImageBuildError:
    text = str(exc.explanation or exc)
    if is_disk_full(text):
        return ImageBuildError(
            f"disk full during {what}; free space with `docker system prune` and retry"
        )
    return ImageBuildError(f"{what} failed: {text}")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
