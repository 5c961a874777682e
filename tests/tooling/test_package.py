"""Function packages: deterministic zips, rendered configuration, hashed keys."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from tap.errors import UserError
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
    with pytest.raises(UserError, match="'ttl' is undefined; allowed: the values the system supplies: greeting"):
        package_function("greeter", {"greeting": "hello"}, functions_dir)


def test_a_template_without_values_is_an_error(functions_dir):
    with pytest.raises(UserError, match="is a template but its system renders no values"):
        package_function("greeter", None, functions_dir)


def test_different_values_give_a_different_key(functions_dir):
    first = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    second = package_function("greeter", {"greeting": "hi", "ttl": 31}, functions_dir)
    assert first.s3_key != second.s3_key


def test_key_names_the_function_and_the_sha256_of_the_bytes(functions_dir):
    package = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    assert package.s3_key == f"functions/greeter-{hashlib.sha256(package.data).hexdigest()}.zip"


def test_a_missing_function_folder_is_an_error(functions_dir):
    with pytest.raises(UserError, match=r"no function folder .*nope/.*\(found: greeter\)"):
        package_function("nope", None, functions_dir)


def test_packager_reuses_a_package_made_with_the_same_values(functions_dir):
    packager = FunctionPackager(functions_dir)
    first = packager("greeter", {"greeting": "hi", "ttl": 30})
    assert packager("greeter", {"ttl": 30, "greeting": "hi"}) is first
    assert packager("greeter", {"greeting": "yo", "ttl": 30}) is not first


# ---- shared modules and vendored distributions ------------------------------------------


@pytest.fixture
def requirements(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# pins\nrsa==4.9.1   # vendored\npyasn1==0.6.5\nMarkupSafe==3.0.4\nmoto[server]==5.2.5\n")
    return path


def vendoring(functions_dir, *distributions: str) -> None:
    (functions_dir / "greeter" / "vendor.txt").write_text(
        "# what the runtime lacks\n" + "\n".join(distributions) + "\n")


def test_vendored_distributions_are_copied_from_the_installed_files(functions_dir, requirements):
    import rsa

    vendoring(functions_dir, "rsa", "pyasn1")
    package = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir, requirements)
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert archive.read("rsa/pkcs1.py") == (Path(rsa.__file__).parent / "pkcs1.py").read_bytes()
    assert "pyasn1/codec/der/decoder.py" in package.files
    assert {"THIRD_PARTY_LICENSES/rsa-4.9.1/LICENSE", "THIRD_PARTY_LICENSES/pyasn1-0.6.5/LICENSE.rst"} <= set(
        package.files)


def test_vendoring_leaves_out_bytecode_scripts_metadata_and_the_lists(functions_dir, requirements):
    vendoring(functions_dir, "rsa")
    package = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir, requirements)
    assert not [name for name in package.files if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in package.files if name.startswith(("bin/", "..")) or ".dist-info" in name]
    assert "vendor.txt" not in package.files


def test_vendored_packages_are_byte_identical_twice_and_fixed_in_time(functions_dir, requirements):
    vendoring(functions_dir, "rsa", "pyasn1")
    first = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir, requirements)
    second = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir, requirements)
    assert first.data == second.data
    assert {info.date_time for info in entries(first.data).values()} == {(1980, 1, 1, 0, 0, 0)}
    assert list(entries(first.data)) == sorted(entries(first.data))


@pytest.mark.parametrize(
    ("distribution", "pins", "error"),
    [
        ("tap-no-such-distribution", "tap-no-such-distribution==1.0\n", "tap-no-such-distribution==1.0 is not installed"),
        ("rsa", "rsa==4.8\n", "rsa 4.9.1 is installed but requirements.txt pins 4.8"),
        ("rsa", "rsa>=4\n", "rsa is not pinned"),
    ],
)
def test_vendoring_what_requirements_do_not_pin_exactly_is_an_error(functions_dir, tmp_path, distribution, pins, error):
    vendoring(functions_dir, distribution)
    requirements = tmp_path / "pins.txt"
    requirements.write_text(pins)
    with pytest.raises(UserError, match=error):
        package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir, requirements)


def test_vendoring_compiled_code_is_an_error(functions_dir, requirements):
    vendoring(functions_dir, "markupsafe")  # ships a C speed-up module
    with pytest.raises(UserError, match="markupsafe is not pure Python"):
        package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir, requirements)


def test_a_vendored_file_that_would_overwrite_the_functions_own_is_an_error(functions_dir, requirements):
    (functions_dir / "greeter" / "rsa").mkdir()
    (functions_dir / "greeter" / "rsa" / "__init__.py").write_text("")
    vendoring(functions_dir, "rsa")
    with pytest.raises(UserError, match="rsa/__init__.py would be packaged twice"):
        package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir, requirements)


def test_the_projects_requirements_pin_what_license_api_vendors():
    from tap.package import REQUIREMENTS, requirement_pins

    assert {"rsa": "4.9.1", "pyasn1": "0.6.5"}.items() <= requirement_pins(REQUIREMENTS).items()


def test_shared_modules_are_packaged_beside_the_handler(functions_dir):
    shared = functions_dir / "_shared"
    shared.mkdir()
    (shared / "json_log.py").write_text("LOG = 1\n")
    (shared / "unused.py").write_text("X = 1\n")
    (functions_dir / "greeter" / "shared.txt").write_text("json_log.py  # logs\n")
    package = package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)
    assert package.files == ("config.py", "handler.py", "json_log.py", "lib/util.py")


def test_a_missing_shared_module_is_an_error(functions_dir):
    (functions_dir / "greeter" / "shared.txt").write_text("nowhere.py\n")
    with pytest.raises(UserError, match="no shared module"):
        package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)


def test_a_shared_module_with_the_name_of_a_function_file_is_an_error(functions_dir):
    (functions_dir / "_shared").mkdir()
    (functions_dir / "_shared" / "handler.py").write_text("")
    (functions_dir / "greeter" / "shared.txt").write_text("handler.py\n")
    with pytest.raises(UserError, match="handler.py would be packaged twice"):
        package_function("greeter", {"greeting": "hi", "ttl": 30}, functions_dir)


def test_packager_passes_the_requirements_on(functions_dir, tmp_path):
    vendoring(functions_dir, "rsa")
    pins = tmp_path / "pins.txt"
    pins.write_text("rsa==0.1\n")
    with pytest.raises(UserError, match="pins 0.1"):
        FunctionPackager(functions_dir, pins)("greeter", {"greeting": "hi", "ttl": 30})
