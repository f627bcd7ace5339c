"""`mininet_lite.environment`: the notebooks' repository lookup and version check."""

import warnings

import pytest

from mininet_lite.environment import check_versions, find_repo, pinned_versions

ROOT = find_repo()


def test_finds_this_clone_from_a_subfolder(tmp_path):
    assert ROOT is not None and (ROOT / "mininet_tf" / "model.py").is_file()
    assert find_repo(ROOT / "notebooks") == ROOT
    assert find_repo(tmp_path) is None


def test_pins_come_from_requirements_txt(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "# comment\nnumpy==2.1.3  # why\nKeras==3.12.0\npillow>=10\nfoo==1.0; python_version<'3'\n"
    )
    assert pinned_versions(tmp_path) == {"numpy": "2.1.3", "keras": "3.12.0", "foo": "1.0"}


def test_mismatch_warns_and_never_stops(tmp_path, capsys):
    import numpy

    (tmp_path / "requirements.txt").write_text(f"numpy=={numpy.__version__}\npytest==0.0.1\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = check_versions(["numpy", "pytest", "no-such-package-xyz"], tmp_path)
    assert report["numpy"] == (numpy.__version__, numpy.__version__)
    assert report["pytest"][1] == "0.0.1" and report["no-such-package-xyz"] == (None, None)
    messages = [str(w.message) for w in caught]  # unpinned and absent: nothing to warn about
    assert len(messages) == 1 and "pytest" in messages[0] and "0.0.1" in messages[0]
    assert "missing" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["numpy", "pillow"])
def test_shipped_requirements_pin_core_packages(name):
    assert name in pinned_versions(ROOT)
