"""The sandbox image, built for real against the Docker engine (no registry needed)."""

import importlib.metadata
import os
import subprocess

import pytest

from zeroplay.config import Config
from zeroplay.errors import DockerUnavailableError, ImageBuildError
from zeroplay.sandbox import image as image_mod
from zeroplay.sandbox.engine import connect
from zeroplay.sandbox.image import build_image, build_rootfs, is_disk_full, site_files

pytestmark = pytest.mark.docker
HYPOTHESIS = importlib.metadata.version("hypothesis")


@pytest.fixture
def scratch_repo(docker_client):
    """A throwaway image repository for builds that must not touch the default image."""
    name = f"zeroplay-sandbox-test-{os.getpid()}"
    yield name
    # Untag, never delete by id: a test build can share its id with the real image.
    for img in docker_client.images.list(name=name):
        for tag in img.tags:
            if tag.startswith(f"{name}:"):
                docker_client.images.remove(tag)


def _run(client, tag, code):
    return client.containers.run(
        tag, ["python3", "-c", code], network_mode="none", remove=True
    ).decode().strip()


def test_image_runs_hypothesis_offline_and_has_its_job_user(docker_client, sandbox_image):
    out = _run(docker_client, sandbox_image.tag,
               "import pwd, sys, hypothesis; u = pwd.getpwnam('sandbox'); "
               "print(u.pw_uid, u.pw_gid, hypothesis.__version__, sys.version_info[:2])")
    uid, gid, version, pyver = out.split(" ", 3)
    assert uid == gid == "10001"  # jobs run as this user (test_pool checks that they do)
    assert version == HYPOTHESIS
    assert pyver == "(3, 11)"


def test_image_holds_nothing_but_python_and_hypothesis(docker_client, sandbox_image):
    out = _run(docker_client, sandbox_image.tag,
               "import importlib.util as u; "
               "print([m for m in ('pip', 'numpy', 'requests', 'torch') if u.find_spec(m)])")
    assert out == "[]"


def test_second_build_is_a_cache_hit(docker_client, sandbox_image):
    again = build_image(Config().sandbox)
    assert again.cached
    assert again.tag == sandbox_image.tag
    assert docker_client.images.get(f"{Config().sandbox.image}:latest").id == \
        docker_client.images.get(again.tag).id


def test_fresh_build_then_cache_hit(docker_client, scratch_repo):
    cfg = Config().sandbox.model_copy(update={"image": scratch_repo})
    first = build_image(cfg, force=True)
    assert not first.cached
    assert first.tag.startswith(f"{scratch_repo}:")
    labels = docker_client.images.get(first.tag).labels
    assert labels["zeroplay.hypothesis"] == HYPOTHESIS
    assert labels["zeroplay.content-hash"] == first.content_hash
    second = build_image(cfg)
    assert second.cached and second.tag == first.tag


def test_changed_input_gives_a_new_tag_and_a_rebuild(docker_client, scratch_repo, tmp_path,
                                                      monkeypatch):
    cfg = Config().sandbox.model_copy(update={"image": scratch_repo})
    before = build_image(cfg)
    changed = tmp_path / "Dockerfile"
    changed.write_text(image_mod.DOCKERFILE.read_text() + "LABEL test.change=1\n")
    monkeypatch.setattr(image_mod, "DOCKERFILE", changed)
    after = build_image(cfg)
    assert after.tag != before.tag
    assert not after.cached
    assert docker_client.images.get(after.tag).labels["test.change"] == "1"
    # The stale build was dropped, so rebuilds do not fill the disk.
    tags = {t for img in docker_client.images.list(name=scratch_repo) for t in img.tags
            if t.startswith(f"{scratch_repo}:")}
    assert tags == {after.tag, f"{scratch_repo}:latest"}


def test_site_files_are_hypothesis_and_its_dependencies():
    files = site_files()
    tops = {rel.split("/")[0] for rel in files}
    assert "hypothesis" in tops and "sortedcontainers" in tops
    assert any(t.startswith("hypothesis-") and t.endswith(".dist-info") for t in tops)
    assert not any("__pycache__" in rel or rel.startswith("..") for rel in files)
    assert all(path.is_file() for path in files.values())


def test_missing_daemon_says_how_to_start_it(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailableError, match="start it with"):
        connect()
    with pytest.raises(DockerUnavailableError):
        build_image(Config().sandbox)


def test_debootstrap_failure_is_reported(tmp_path):
    with pytest.raises(ImageBuildError, match=r"debootstrap bookworm from .* failed"):
        build_rootfs(tmp_path / "rootfs", "bookworm", "http://127.0.0.1:9/debian")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")
def test_full_disk_is_reported_before_debootstrap_runs(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(small)], check=True)
    try:
        with pytest.raises(ImageBuildError, match=r"disk full: \d+ MiB free"):
            build_rootfs(small / "rootfs", "bookworm", "http://127.0.0.1:9/debian")
        assert not (small / "rootfs").exists()
    finally:
        subprocess.run(["umount", str(small)], check=True)


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("write /var/lib/docker/tmp/x: no space left on device", True),
        ("E: Couldn't write: No space left on device", True),
        ("Disk quota exceeded", True),
        ("E: Failed getting release file", False),
    ],
)
def test_disk_full_messages_are_recognized(text, full):
    assert is_disk_full(text) is full


def test_any_base_image_can_replace_debootstrap(docker_client, scratch_repo):
    # Stands in for python:3.11-slim on a machine with a registry: a local image ref.
    base_ref = f"{scratch_repo}-base:slim"
    docker_client.images.get(image_mod.base_tag(Config().sandbox)).tag(base_ref)
    try:
        cfg = Config().sandbox.model_copy(update={"image": scratch_repo, "base_image": base_ref})
        built = build_image(cfg)
        assert built.base == base_ref
        assert docker_client.images.get(built.tag).labels["zeroplay.base"] == base_ref
    finally:
        docker_client.images.remove(base_ref)


def test_missing_registry_base_is_a_clear_error(scratch_repo):
    cfg = Config().sandbox.model_copy(
        update={"image": scratch_repo, "base_image": "127.0.0.1:9/none/python:3.11-slim"}
    )
    with pytest.raises(ImageBuildError, match="cannot pull base image .*sandbox.base_image"):
        build_image(cfg)
