"""The classroom's pieces that need no engine: the chart values against the chart's own schema, the registry guard's
rules, the hub's config, the cache's config, the notebook copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from labkit.classroom import cache, guard, helm, hub, singleuser
from labkit.classroom.course import Course, Member

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "z2jh" / "values.schema.yaml"  # chart 4.4.0, jupyterhub/


def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SCHEMA.read_text())
    return loaded


def test_helm_values_validate_against_the_charts_schema() -> None:
    schema = _schema()
    found = helm.values("registry.example.org/lab/singleuser:2026.11")
    for key in ("singleuser", "cull"):
        jsonschema.validate(found[key], schema["properties"][key])
    single = found["singleuser"]
    assert single["image"] == {"name": "registry.example.org/lab/singleuser", "tag": "2026.11"}
    assert set(single["cpu"]) == set(single["memory"]) == {"limit", "guarantee"}
    assert [profile["slug"] for profile in single["profileList"]] == ["lab", "lab-native-arm64"]
    native = single["profileList"][1]["kubespawner_override"]["lifecycle_hooks"]["postStart"]["exec"]["command"][-1]
    assert "--append" in native and "nodeselector=kubernetes.io/arch=arm64" in native and "rootless=true" in native
    assert found["cull"]["enabled"] is True


def test_the_schema_rejects_a_key_the_chart_does_not_document() -> None:
    schema = _schema()
    wrong = {**helm.values()["singleuser"], "cpuLimit": 2}
    try:
        jsonschema.validate(wrong, schema["properties"]["singleuser"])
    except jsonschema.ValidationError as error:
        assert "cpuLimit" in error.message
    else:
        raise AssertionError("the chart's schema accepted singleuser.cpuLimit")


def test_helm_values_command_writes_yaml(tmp_path: Path) -> None:
    out = tmp_path / "values.yaml"
    done = subprocess.run([sys.executable, "-m", "labkit", "class", "helm-values", "--output", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(out.read_text()) == helm.values()


def test_guard_rules_name_each_learners_port_and_uid() -> None:
    text = guard.ruleset("c1", {1001: 21001, 1002: 21002})
    assert text.startswith("table inet mlab_class_c1\ndelete table inet mlab_class_c1\n")
    assert "tcp dport 21001 ip daddr 127.0.0.0/8 meta skuid != { 0, 1001 } counter reject" in text
    assert "tcp dport 21002 ip6 daddr ::1 meta skuid != { 0, 1002 } counter reject" in text


def test_cache_config_is_read_only_or_a_pull_through_cache(tmp_path: Path) -> None:
    course = Course("c1", tmp_path, 8010)
    preloaded = cache.config(course, "preloaded")
    assert "readonly:\n      enabled: true" in preloaded and "proxy:" not in preloaded and "addr: 127.0.0.1:8013" in preloaded
    assert "readonly:\n      enabled: false" in cache.config(course, "preloaded", writable=True)
    assert "proxy:\n  remoteurl: https://registry-1.docker.io" in cache.config(course, "proxy")


def test_hub_config_listens_on_loopback_and_never_uses_a_dummy_authenticator(tmp_path: Path) -> None:
    course = Course("c1", tmp_path, 8010)
    course.hub_dir.mkdir(parents=True)
    text = hub.config(course, [Member("mlab-c1", 1001, "/home/mlab-c1", True)])
    compile(text, "jupyterhub_config.py", "exec")
    assert 'c.JupyterHub.bind_url = "http://127.0.0.1:8010"' in text.replace("'", '"')
    assert "FirstUseAuthenticator" in text and "Dummy" not in text
    assert "jupyterhub_idle_culler" in text and "allowed_users = ['mlab-c1']" in text


def test_notebooks_are_copied_once_and_the_learners_edits_kept(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    (source / "00.ipynb").write_text("stored")
    assert singleuser.copy_notebooks(source, target) == ["00.ipynb"]
    (target / "00.ipynb").write_text("edited")
    assert singleuser.copy_notebooks(source, target) == []
    assert (target / "00.ipynb").read_text() == "edited"
