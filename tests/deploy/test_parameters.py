"""Deploy-time parameters: the per-environment file, --parameter overrides, the config, and
one clear refusal for a value that is missing, unknown or not allowed."""

from __future__ import annotations

import json

import pytest

from tap.deploy import parameters
from tap.deploy.artifacts import Release
from tap.deploy.parameters import Value
from tap.errors import UserError
from tap.paths import TEMPLATES_DIR

PRIVATE = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n"
DECLARED = {
    "ArtifactBucket": {"Type": "String", "Default": ""},
    "SigningPublicKey": {
        "Type": "String",
        "AllowedPattern": r"^-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$",
        "ConstraintDescription": "a PEM block: -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----",
    },
}
FILE = "config/distribution/dev.parameters.json"


def resolve(file_values=None, overrides=None, deployed=frozenset(), declared=DECLARED):
    return parameters.resolve(declared, file_values or {}, FILE, overrides or {}, deployed)


def write(path, document) -> None:
    path.write_text(json.dumps(document))


def test_the_file_gives_values_in_cloudformations_shape(tmp_path):
    path = tmp_path / "dev.parameters.json"
    write(path, [{"ParameterKey": "SigningPublicKey", "ParameterValue": PEM}])
    values = resolve(parameters.read_file(path))
    assert values == [Value("SigningPublicKey", PEM, FILE)]
    assert values[0].as_cloudformation() == {"ParameterKey": "SigningPublicKey", "ParameterValue": PEM}


def test_no_file_means_no_values(tmp_path):
    assert parameters.read_file(tmp_path / "missing.json") == {}


def test_a_parameter_option_overrides_the_file_and_reads_files(tmp_path):
    key = tmp_path / "public.pem"
    key.write_text(PEM)
    overrides = parameters.parse_overrides([f"SigningPublicKey=file://{key}", "ArtifactBucket=my-bucket"])
    values = resolve({"SigningPublicKey": "ignored"}, overrides)
    assert values == [Value("ArtifactBucket", "my-bucket", "--parameter"),
                      Value("SigningPublicKey", PEM, "--parameter")]


def test_a_required_parameter_without_a_value_names_the_parameter_and_the_file():
    with pytest.raises(UserError) as refused:
        resolve()
    assert str(refused.value).startswith(
        f"parameter SigningPublicKey has no value and no default; set it in {FILE}")


def test_a_deployed_stack_keeps_its_value_when_none_is_given():
    (value,) = resolve(deployed=frozenset({"SigningPublicKey"}))
    assert value.as_cloudformation() == {"ParameterKey": "SigningPublicKey", "UsePreviousValue": True}


@pytest.mark.parametrize("given, message", [
    # Only the first line of a rejected key is shown: it may be a private key.
    ({"SigningPublicKey": PRIVATE},
     f"parameter SigningPublicKey (--parameter): '-----BEGIN PRIVATE KEY-----'... ({len(PRIVATE)} "
     "characters) is not allowed; allowed: a PEM block"),
    ({"SigningPublicKye": PEM},
     "--parameter: the root stack has no parameter 'SigningPublicKye' (did you mean 'SigningPublicKey'?); "
     "allowed: ArtifactBucket, SigningPublicKey"),
])
def test_bad_values_are_refused_with_what_is_allowed(given, message):
    with pytest.raises(UserError) as refused:
        resolve(overrides=given)
    assert str(refused.value).replace("\n", " ").startswith(message)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"SigningPublicKey": "x"}', "the top level is not a list"),
    ('[{"ParameterKey": "SigningPublicKey"}]', "entry [0] is"),
    ('[{"ParameterKey": "A", "ParameterValue": 1}]', "both strings"),
    ('[{"ParameterKey": "A", "ParameterValue": "1"}, {"ParameterKey": "A", "ParameterValue": "2"}]',
     "A is given twice"),
])
def test_a_broken_parameters_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "dev.parameters.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parameters.read_file(path)


@pytest.mark.parametrize("item", ["SigningPublicKey", "=value", "Key=file:///no/such/file"])
def test_a_malformed_parameter_option_is_refused(item):
    with pytest.raises(UserError, match="--parameter"):
        parameters.parse_overrides([item])


# --- the config's values of per-account settings (recorded in the manifest) -----------------------

CONFIG = "config/distribution/prod.toml"
CERTIFICATE = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
OTHER = "arn:aws:acm:us-east-1:444455556666:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
WITH_CERTIFICATE = {
    **DECLARED,
    "CdnCertificateArn": {
        "Type": "String",
        "AllowedPattern": r"^(?:arn:aws(-cn|-us-gov)?:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36})$",
        "ConstraintDescription": "an ACM certificate ARN in us-east-1",
    },
}


def resolve_configured(file_values=None, overrides=None, deployed=frozenset()):
    return parameters.resolve(
        WITH_CERTIFICATE, file_values or {}, FILE, overrides or {}, deployed,
        configured={"CdnCertificateArn": CERTIFICATE}, configured_label=CONFIG)


def certificate(values):
    (value,) = [value for value in values if value.name == "CdnCertificateArn"]
    return value


def test_the_configs_value_is_passed_and_names_the_config_file():
    values = resolve_configured(overrides={"SigningPublicKey": PEM})
    assert certificate(values) == Value("CdnCertificateArn", CERTIFICATE, CONFIG)
    assert certificate(values).as_cloudformation() == {"ParameterKey": "CdnCertificateArn",
                                                       "ParameterValue": CERTIFICATE}


def test_the_parameters_file_overrides_the_configs_value():
    values = resolve_configured({"CdnCertificateArn": OTHER, "SigningPublicKey": PEM})
    assert certificate(values) == Value("CdnCertificateArn", OTHER, FILE)


def test_a_parameter_option_overrides_the_file_and_the_config():
    values = resolve_configured({"CdnCertificateArn": OTHER, "SigningPublicKey": PEM},
                                {"CdnCertificateArn": CERTIFICATE.replace("111122223333", "777788889999")})
    assert certificate(values).source == "--parameter"
    assert ":777788889999:" in certificate(values).value


def test_the_configs_value_wins_over_the_deployed_one():
    # A changed certificate in config reaches the stack; nothing is kept from before.
    values = resolve_configured(deployed=frozenset({"CdnCertificateArn", "SigningPublicKey"}))
    assert certificate(values) == Value("CdnCertificateArn", CERTIFICATE, CONFIG)


def test_a_value_that_breaks_the_parameters_rule_is_refused_whatever_its_source():
    with pytest.raises(UserError, match="parameter CdnCertificateArn .*allowed: an ACM certificate ARN in us-east-1"):
        resolve_configured({"CdnCertificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1"),
                            "SigningPublicKey": PEM})


def release_of(folder: str) -> Release:
    system, env = folder.split("/")
    manifest = json.loads((TEMPLATES_DIR / folder / "manifest.json").read_text())
    return Release(system, env, TEMPLATES_DIR / folder, manifest, ())


def test_a_release_passes_its_manifests_config_values_labelled_with_the_config_file(tmp_path):
    release = release_of("distribution/prod")
    config_dir = tmp_path / "config"
    (config_dir / "distribution").mkdir(parents=True)
    write(config_dir / "distribution" / "prod.parameters.json",
          [{"ParameterKey": "SigningPublicKey", "ParameterValue": PEM}])
    values = {value.name: value for value in parameters.for_release(release, config_dir, {})}
    assert values["CdnCertificateArn"] == Value("CdnCertificateArn", release.manifest["parameters"]["CdnCertificateArn"],
                                                "config/distribution/prod.toml")
    assert values["SigningPublicKey"].source == "config/distribution/prod.parameters.json"
    overridden = parameters.for_release(release, config_dir, {"CdnCertificateArn": OTHER})
    assert certificate(overridden) == Value("CdnCertificateArn", OTHER, "--parameter")


def test_a_release_without_configured_values_passes_none(tmp_path):
    release = release_of("distribution/dev")
    assert release.manifest["parameters"] == {}
    values = parameters.for_release(release, tmp_path / "config", {"SigningPublicKey": PEM})
    assert [value.name for value in values] == ["SigningPublicKey"]
