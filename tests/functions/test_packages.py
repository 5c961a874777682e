"""The three function zips as `tap.package` builds them: deterministic, complete, small,
and the edge configuration rendered safely."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import zipfile

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from tap.errors import UserError
from tap.package import package_function
from tests.functions.conftest import EDGE_VALUES, pem

EDGE_ZIP_LIMIT = 1024 * 1024  # Lambda@Edge viewer-request: 1 MB zipped
FUNCTIONS = {"license_verify": EDGE_VALUES, "license_api": None, "usage_tracking": None}


def read(package, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        return archive.read(name).decode()


@pytest.mark.parametrize(("name", "values"), FUNCTIONS.items())
def test_packaging_twice_gives_the_same_bytes(name, values):
    assert package_function(name, values).data == package_function(name, values).data


@pytest.mark.parametrize(("name", "values"), FUNCTIONS.items())
def test_each_zip_has_a_handler_entry_point(name, values):
    tree = ast.parse(read(package_function(name, values), "handler.py"))
    handlers = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "handler"]
    assert [[arg.arg for arg in h.args.args] for h in handlers] == [["event", "context"]]


def test_the_edge_zip_fits_the_lambda_at_edge_limit(record_property):
    package = package_function("license_verify", EDGE_VALUES)
    record_property("license_verify_zip_bytes", len(package.data))
    assert len(package.data) < EDGE_ZIP_LIMIT


def test_the_edge_zip_holds_only_what_the_check_needs():
    package = package_function("license_verify", EDGE_VALUES)
    assert package.files == ("edge_cache.py", "edge_config.py", "handler.py", "json_log.py",
                             "license_rules.py", "utc_time.py")


def environment_reads(source: str) -> list[str]:
    """`os.environ` / `getenv` uses and `os` imports in Python source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            found.append(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] + [getattr(node, "module", None)]
            found.extend(module for module in modules if module == "os")
    return found


def test_the_edge_code_reads_no_environment_variables():
    package = package_function("license_verify", EDGE_VALUES)
    assert {name: environment_reads(read(package, name)) for name in package.files} == {
        name: [] for name in package.files}
    assert environment_reads("import os\nos.environ['X']") == ["os", "environ"]


def test_the_license_api_zip_vendors_rsa_and_pyasn1():
    files = package_function("license_api").files
    assert {"rsa/__init__.py", "rsa/pkcs1.py", "pyasn1/codec/der/decoder.py"} <= set(files)
    assert "vendor.txt" not in files and "shared.txt" not in files


def test_the_license_api_signs_with_only_its_zip_on_the_path(tmp_path, signing_key):
    """`python -S` has no site-packages: rsa and pyasn1 can come only from the zip."""
    with zipfile.ZipFile(io.BytesIO(package_function("license_api").data)) as archive:
        archive.extractall(tmp_path)
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem(signing_key, serialization.PrivateFormat.PKCS8))
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import rsa, signing_key;"
        "key = signing_key.load_private_key(open(sys.argv[2]).read());"
        "print(rsa.__file__); print(rsa.sign(b'policy', key, 'SHA-1').hex())"
    )
    result = subprocess.run([sys.executable, "-S", "-c", script, str(tmp_path), str(key_file)],
                            capture_output=True, text=True, check=True)
    location, signature = result.stdout.split()
    assert location.startswith(str(tmp_path))
    signing_key.public_key().verify(bytes.fromhex(signature), b"policy", padding.PKCS1v15(), hashes.SHA1())


# ---- the rendered edge configuration -------------------------------------------------------


def rendered_settings(**changes) -> dict:
    source = read(package_function("license_verify", {**EDGE_VALUES, **changes}), "edge_config.py")
    namespace: dict = {}
    exec(compile(source, "edge_config.py", "exec"), namespace)
    return {name: value for name, value in namespace.items() if name.isupper()}


def test_the_edge_settings_are_rendered_into_the_package():
    assert rendered_settings() == {
        "TABLE_NAME": "licenses", "TABLE_REGION": "us-east-1",
        "CACHE_TTL_SECONDS": 60, "LOOKUP_TIMEOUT_SECONDS": 1.5,
    }


@pytest.mark.parametrize("table_name", ['tap-"licenses"', "a\\b", 'x"""\nimport os\n"""', "</script>", "ĺíçèñçé"])
def test_a_table_name_is_quoted_safely(table_name):
    assert rendered_settings(table_name=table_name)["TABLE_NAME"] == table_name


def test_a_different_setting_gives_a_different_package():
    first = package_function("license_verify", EDGE_VALUES)
    second = package_function("license_verify", {**EDGE_VALUES, "cache_ttl_seconds": 30})
    assert first.s3_key != second.s3_key


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"table_name": ""}, "table_name_must_be_a_non_empty_string"),
        ({"table_name": 5}, "table_name_must_be_a_non_empty_string"),
        ({"table_region": None}, "table_region_must_be_a_non_empty_string"),
        ({"cache_ttl_seconds": "60"}, "cache_ttl_seconds_must_be_a_whole_number_from_0_to_3600"),
        ({"cache_ttl_seconds": True}, "cache_ttl_seconds_must_be_a_whole_number_from_0_to_3600"),
        ({"cache_ttl_seconds": 86_400}, "cache_ttl_seconds_must_be_a_whole_number_from_0_to_3600"),
        ({"lookup_timeout_seconds": 0}, "lookup_timeout_seconds_must_be_a_number_above_0_and_at_most_2"),
        ({"lookup_timeout_seconds": 4.5}, "lookup_timeout_seconds_must_be_a_number_above_0_and_at_most_2"),
        ({"lookup_timeout_seconds": "1.5"}, "lookup_timeout_seconds_must_be_a_number_above_0_and_at_most_2"),
        ({"lookup_timeout_seconds": float("nan")}, "lookup_timeout_seconds_must_be_a_number_above_0_and_at_most_2"),
    ],
)
def test_a_bad_edge_setting_stops_the_packaging(change, rule):
    """The template's guards name the rule as an undefined variable: one line, exit 2."""
    with pytest.raises(UserError, match=rule):
        package_function("license_verify", {**EDGE_VALUES, **change})


def test_a_missing_edge_setting_stops_the_packaging():
    values = dict(EDGE_VALUES)
    del values["cache_ttl_seconds"]
    with pytest.raises(UserError, match="cache_ttl_seconds"):
        package_function("license_verify", values)
