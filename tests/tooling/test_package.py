"""Function packages: deterministic zips, rendered configuration, hashed keys."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile

import pytest

from tap.package import FunctionPackager, package_function


@pytest.fixture
def functions_dir(tmp_path):
    folder = tmp_path / "functions" / "greeter"
    (folder / "lib").mkdir(parents=True)
    (folder / "handler.py").write_text("from config import GREETING\n")
    (folder / "lib" / "util.py").write_text("X = 1\n")
    (folder / "config.py.j2").write_text('GREETING = "{{ greeting }}"\nTTL = {{ ttl }}\n')
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"junk")
    (folder / ".DS_Store").write_bytes(b"junk")
    return tmp_path / "functions"


def entries(data: bytes) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: info for info in archive.infolist()}


def test_two_packages_of_the_same_sources_are_byte_identical(functions_dir):
    first = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    second = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    assert first.data == second.data


def test_file_times_and_modes_do_not_change_the_zip(functions_dir):
    before = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    handler = functions_dir / "greeter" / "handler.py"
    os.utime(handler, (1_700_000_000, 1_700_000_000))
    handler.chmod(0o755)
    after = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    assert before.data == after.data


def test_entries_are_sorted_with_fixed_time_and_mode(functions_dir):
    package = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    infos = entries(package.data)
    assert list(infos) == ["config.py", "handler.py", "lib/util.py"]
    for info in infos.values():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o644


def test_caches_and_hidden_files_are_left_out(functions_dir):
    package = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    assert package.files == ("config.py", "handler.py", "lib/util.py")


def test_templates_are_rendered_with_the_given_values(functions_dir):
    package = package_function("greeter", {"greeting": "hello", "ttl": 5}, functions_dir)
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert archive.read("config.py").decode() == 'GREETING = "hello"\nTTL = 5\n'


def test_a_value_missing_from_the_template_context_is_an_error(functions_dir):
    import jinja2

    with pytest.raises(jinja2.UndefinedError, match="ttl"):
        package_function("greeter", {"greeting": "hello"}, functions_dir)


def test_a_template_without_values_is_an_error(functions_dir):
    with pytest.raises(ValueError, match="no values were given"):
        package_function("greeter", None, functions_dir)


def test_different_values_give_a_different_key(functions_dir):
    first = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    second = package_function("greeter", {"greeting": "hi", "ttl": 31}, functions_dir)
    assert first.s3_key != second.s3_key


def test_key_names_the_function_and_the_sha256_of_the_bytes(functions_dir):
    package = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    assert package.s3_key == f"functions/greeter-{hashlib.sha256(package.data).hexdigest()}.zip"


def test_a_missing_function_folder_is_an_error(functions_dir):
    with pytest.raises(FileNotFoundError, match="no function folder"):
        package_function("nope", None, functions_dir)


def test_packager_reuses_a_package_made_with_the_same_values(functions_dir):
    packager = FunctionPackager(functions_dir)
    first = packager("greeter", {"greeting": "hi", "ttl": 30})
    assert packager("greeter", {"ttl": 30, "greeting": "hi"}) is first
    assert packager("greeter", {"greeting": "yo", "ttl": 30}) is not first
