"""Architecture diagrams: the real systems' request paths, read from the generated Mermaid."""

from __future__ import annotations

import re

import pytest
from troposphere import GetAtt, Ref, Sub, awslambda, iam, s3

from bench.services_scale import generated_config
from tap import architecture
from tap.emit import emit_tree
from tap.errors import UserError
from tap.paths import REPO
from tap.stacktree import Stack
from tap.systems.microservices.placement import shards as shards_of
from tests.systems.microservices import Built

_ARROW = re.compile(r'^\s*(\w+) (-->|-\.->)(?:\|"([^"]*)"\|)? (\w+)$')
_NODE = re.compile(r'^\s*(\w+)(?:\[\("|\["|\(\[")(.*?)(?:"\)\]|"\]|"\]\))$')
_SUBGRAPH = re.compile(r'^\s*subgraph (\w+)\["(.*)"\]$')


def arrows(diagram: str) -> set[tuple[str, str, str]]:
    """(source id, verb, target id) of every arrow; dotted arrows get their verb too."""
    found = set()
    for line in diagram.splitlines():
        match = _ARROW.match(line)
        if match:
            found.add((match[1], match[3] or "", match[4]))
    return found


def labels(diagram: str) -> dict[str, str]:
    return {match[1]: match[2] for match in map(_NODE.match, diagram.splitlines()) if match}


def members(diagram: str) -> dict[str, set[str]]:
    """Subgraph title -> ids of the boxes declared directly inside it."""
    inside: dict[str, set[str]] = {}
    open_titles: list[str] = []
    for line in diagram.splitlines():
        subgraph, node = _SUBGRAPH.match(line), _NODE.match(line)
        if subgraph:
            open_titles.append(subgraph[2])
            inside[subgraph[2]] = set()
        elif line.strip() == "end":
            open_titles.pop()
        elif node and open_titles:
            inside[open_titles[-1]].add(node[1])
    return inside


def path_is_drawn(diagram: str, *steps: str) -> bool:
    """True when `a, verb, b, verb, c ...` are consecutive arrows of the diagram."""
    drawn = arrows(diagram)
    return all((steps[i], steps[i + 1], steps[i + 2]) in drawn for i in range(0, len(steps) - 2, 2))


@pytest.fixture(scope="module")
def distribution(built) -> str:
    return architecture.mermaid(built.targets["distribution/prod"].emission)


@pytest.fixture(scope="module")
def microservices(built) -> str:
    return architecture.mermaid(built.targets["microservices/prod"].emission)


@pytest.fixture(scope="module")
def pages(built) -> dict[str, str]:
    return architecture.documents([target.emission for target in built.targets.values()])


# --- the request paths of the real systems ----------------------------------------


def test_a_download_passes_the_waf_cloudfront_and_the_edge_check_before_s3(distribution):
    assert path_is_drawn(distribution, "actor__users", "", "cdn__WebAcl", "filters",
                         "cdn__Distribution", "checks with", "edge__LicenseCheck",
                         "reads", "database__LicensesTable")
    assert ("cdn__Distribution", "reads", "storage__BinariesBucket") in arrows(distribution)


def test_an_api_call_reaches_the_license_function_and_its_table(distribution):
    assert path_is_drawn(distribution, "actor__API_clients", "", "api__Api", "invokes",
                         "functions__LicenseApi", "reads, writes", "database__LicensesTable")
    assert path_is_drawn(distribution, "api__Api", "invokes", "functions__UsageTracking",
                         "reads, writes", "database__AnalyticsTable")


def test_verbs_come_from_the_iam_grants(distribution):
    # The edge check's role may only GetItem; the licence API's may also Put and Update.
    drawn = arrows(distribution)
    assert ("edge__LicenseCheck", "reads", "database__LicensesTable") in drawn
    assert ("functions__LicenseApi", "reads, writes", "database__LicensesTable") in drawn
    assert ("functions__SigningKeySecret", "read by", "functions__LicenseApi") in drawn


def test_access_logs_are_dotted_arrows_to_the_log_bucket(distribution):
    dotted = {line.split()[0] for line in distribution.splitlines() if "-.->" in line}
    assert dotted == {"cdn__Distribution", "storage__BinariesBucket"}
    assert ("cdn__Distribution", "logs to", "storage__LogsBucket") in arrows(distribution)


def test_a_user_request_goes_cloudfront_load_balancer_service_database_and_cache(microservices):
    assert path_is_drawn(microservices, "actor__users", "", "cdn__Distribution", "routes to",
                         "cluster__LoadBalancer0", "routes to", "services_NNN__ECS__Service",
                         "connects to", "database__Database")
    assert ("services_NNN__ECS__Service", "connects to", "cache__Cache") in arrows(microservices)
    assert ("cdn__Distribution", "reads", "storage__StaticBucket") in arrows(microservices)


def test_a_git_push_goes_pipeline_build_repository_service(microservices):
    assert path_is_drawn(microservices, "actor__git_push", "", "pipeline__GitHubOidcProvider",
                         "starts", "pipelines_NNN__CodePipeline__Pipeline", "builds with",
                         "pipelines_NNN__CodeBuild__Project", "pushes", "services_NNN__ECR__Repository",
                         "pulled by", "services_NNN__ECS__Service")
    assert ("pipelines_NNN__CodePipeline__Pipeline", "deploys", "services_NNN__ECS__Service") in arrows(microservices)
    assert ("pipeline__GitHubConnection", "source", "pipelines_NNN__CodePipeline__Pipeline") in arrows(
        microservices)


def test_the_cache_auth_token_is_drawn_as_part_of_the_cache(microservices):
    assert "cache__CacheAuthToken" not in labels(microservices)
    assert members(microservices)["cache"] == {"cache__Cache"}


# --- what is drawn and how it is grouped ---------------------------------------------


def test_each_nested_stack_with_main_resources_is_a_subgraph(distribution):
    assert members(distribution) == {
        "cdn": {"cdn__WebAcl", "cdn__Distribution"},
        "api": {"api__Api"},
        "edge": {"edge__LicenseCheck"},
        "storage": {"storage__BinariesBucket", "storage__LogsBucket"},
        "functions": {"functions__LicenseApi", "functions__UsageTracking",
                      "functions__SigningKeySecret", "functions__SigningKeySecretB"},
        "database": {"database__LicensesTable", "database__AnalyticsTable"},
    }


def test_shards_are_one_subgraph_each_nested_as_their_stacks_are(microservices):
    lines = [line.strip() for line in microservices.splitlines()]
    services = lines.index('subgraph stack__services_NNN["services-NNN × 6"]')
    pipelines = lines.index('subgraph stack__pipelines_NNN["pipelines-NNN × 6"]')
    assert services < pipelines < lines.index("end", pipelines) < len(lines)
    assert members(microservices)["services-NNN × 6"] == {
        "services_NNN__ECS__Service", "services_NNN__ECR__Repository", "services_NNN__SecretsManager__Secret"}
    assert labels(microservices)["services_NNN__ECS__Service"] == "ECS service × 6"


def test_roles_policies_logs_alarms_and_networking_are_not_boxes(distribution, microservices):
    kinds = set(architecture.SHOWN.values())
    for diagram in (distribution, microservices):
        for node_id, label in labels(diagram).items():
            if node_id.startswith("actor__"):
                continue
            assert label.split("<br/>")[1 if "<br/>" in label else 0].split(" × ")[0] in kinds
    assert not re.search(r"Role|LogGroup|Alarm|Subnet|SecurityGroup|TaskDefinition",
                         distribution + microservices)


def test_data_stores_are_cylinders(distribution):
    assert 'database__LicensesTable[("LicensesTable<br/>DynamoDB table")]' in distribution
    assert 'functions__LicenseApi["LicenseApi<br/>Lambda function"]' in distribution


def test_every_arrow_joins_declared_boxes_and_subgraphs_close(distribution, microservices):
    for diagram in (distribution, microservices):
        declared = set(labels(diagram))
        for source, _, target in arrows(diagram):
            assert {source, target} <= declared
        opened = sum(1 for line in diagram.splitlines() if _SUBGRAPH.match(line))
        assert opened == sum(1 for line in diagram.splitlines() if line.strip() == "end")


def test_wiring_across_stacks_follows_parameters_to_the_sibling_output():
    root = Stack.root("root", "r")
    storage = Stack("storage", "s")
    bucket = storage.add(s3.Bucket("Data"))
    storage.output("DataArn", GetAtt(bucket, "Arn"), "the bucket")
    functions = Stack("functions", "f")
    data_arn = functions.parameter("DataArn")
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}
    read = {"Effect": "Allow", "Action": ["s3:GetObject"],
            "Resource": [Sub("${Arn}/*", Arn=Ref(data_arn))]}
    role = functions.add(iam.Role(
        "ReaderRole", AssumeRolePolicyDocument={"Statement": [trust]},
        Policies=[iam.Policy(PolicyName="read", PolicyDocument={"Statement": [read]})],
    ))
    functions.add(awslambda.Function(
        "Reader", Role=GetAtt(role, "Arn"), Runtime="python3.12", Handler="app.handler",
        Code=awslambda.Code(ZipFile="def handler(event, context): pass"),
    ))
    nested = root.nest(storage)
    root.nest(functions, {"DataArn": nested.output("DataArn")})

    diagram = architecture.mermaid(emit_tree(root, "test/dev", {}))

    assert arrows(diagram) == {("functions__Reader", "reads", "storage__Data")}
    assert set(labels(diagram)) == {"functions__Reader", "storage__Data"}


def test_iam_verbs():
    assert architecture.iam_verb({"dynamodb:GetItem", "dynamodb:Query"}) == "reads"
    assert architecture.iam_verb({"dynamodb:PutItem"}) == "writes"
    assert architecture.iam_verb({"s3:*"}) == "reads, writes"
    assert architecture.iam_verb({"codepipeline:StartPipelineExecution",
                                  "codepipeline:GetPipelineState"}) == "starts"


# --- scale and determinism -------------------------------------------------------------


def test_many_services_draw_as_few_boxes_as_six(microservices):
    platform = Built(generated_config(150))  # more services than shards: several per shard
    diagram = architecture.mermaid(platform.emission)
    shards = len(shards_of(platform.settings))
    assert labels(diagram)["services_NNN__ECS__Service"] == "ECS service × 150"
    assert labels(diagram)["pipelines_NNN__CodePipeline__Pipeline"] == "CodePipeline × 150"
    assert f'subgraph stack__services_NNN["services-NNN × {shards}"]' in diagram
    assert labels(diagram)["cluster__LoadBalancerN"] == "load balancer × 2"  # as many as needed
    assert len(labels(diagram)) <= len(labels(microservices))
    assert len(diagram.splitlines()) <= len(microservices.splitlines())


def test_documents_are_deterministic(built, pages):
    emissions = [target.emission for target in built.targets.values()]
    assert architecture.documents(list(reversed(emissions))) == pages


# --- the pages -----------------------------------------------------------------------------


def test_one_page_per_system_drawn_from_prod(pages):
    assert sorted(pages) == ["docs/architecture/distribution.md",
                             "docs/architecture/microservices.md"]
    page = pages["docs/architecture/microservices.md"]
    assert "from `templates/microservices/prod/`" in page
    assert "It shows **prod**" in page and "dev and staging differ" in page
    assert page.count("```mermaid\n") == 1 and page.endswith("```\n")


def test_pages_name_the_stacks_with_nothing_drawn(pages):
    distribution = pages["docs/architecture/distribution.md"]
    assert "- Stacks with nothing drawn: monitoring.\n" in distribution
    assert ("- Stacks with nothing drawn: network, security, monitoring.\n"
            in pages["docs/architecture/microservices.md"])


def test_committed_pages_and_pictures_are_current(pages):
    for path, text in pages.items():
        assert (REPO / path).read_text() == text, f"{path} is stale: regenerate it"
        picture = (REPO / path).with_suffix(".png")
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{picture} is missing"


# --- rendering --------------------------------------------------------------------------------


def test_rendering_without_the_mermaid_cli_says_what_to_install(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("# x\n\n```mermaid\nflowchart TB\n  a --> b\n```\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # no mmdc, no npx
    with pytest.raises(UserError, match="npm install -g @mermaid-js/mermaid-cli"):
        architecture.render_png(page, tmp_path / "page.png")


def test_a_page_without_a_diagram_is_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# nothing to draw\n")
    with pytest.raises(UserError, match="no ```mermaid block"):
        architecture.render_png(page, tmp_path / "page.png")
