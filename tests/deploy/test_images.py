"""The image tag each service gets from the deploy, against an emulated account (moto):
what runs now wins over an older config tag, a newer pushed config tag wins over what
runs, and nothing pushed means no task."""

from __future__ import annotations

import time

import pytest

from tap.deploy import images, preflight
from tap.deploy.parameters import Value
from tap.deploy.stacks import DeployedStack
from tests.deploy.conftest import templates_by_path

CONFIGURED = "3f9c2a1e8b7d6c5f4a3b2c1d0e9f8a7b6c5d4e3f"  # orders' image_tag in config/microservices/dev.toml
NEWER = "aaaabbbbccccddddeeeeffff0000111122223333"
MANIFEST = ('{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", '
            '"config": {"digest": "%s"}, "layers": []}')


@pytest.fixture
def templates(built):
    return templates_by_path(built, "microservices/dev")


def orders_slot(templates) -> images.ImageSlot:
    (slot,) = [slot for slot in images.slots(templates) if slot.service_id == "OrdersService"]
    return slot


def push(aws, tag: str) -> None:
    aws.client("ecr").put_image(repositoryName="orders", imageTag=tag, imageManifest=MANIFEST % tag)
    time.sleep(1.1)  # ECR records push times in seconds


def running(aws, tag: str) -> str:
    """An ECS service running `orders:<tag>`, as the pipeline leaves it; its ARN."""
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="platform")
    definition = ecs.register_task_definition(family="orders", containerDefinitions=[{
        "name": "app", "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:{tag}", "memory": 512,
    }])["taskDefinition"]["taskDefinitionArn"]
    return ecs.create_service(cluster="platform", serviceName="orders-svc", taskDefinition=definition,
                              desiredCount=1)["service"]["serviceArn"]


def deployed(slot, service_arn=None) -> dict:
    resources = {slot.repository_id: "orders"}
    if service_arn:
        resources[slot.service_id] = service_arn
    return {slot.path: DeployedStack(slot.path, "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", {
        logical_id: {"LogicalResourceId": logical_id, "PhysicalResourceId": physical, "ResourceType": "x"}
        for logical_id, physical in resources.items()
    })}


def chosen(aws, templates, stacks) -> images.Choice:
    (choice,) = [c for c in images.choose(aws, templates, stacks) if c.slot.service_id == "OrdersService"]
    return choice


def test_every_service_of_every_shard_is_a_slot_of_its_shard_list(templates):
    slots = list(images.slots(templates))
    assert {slot.service_id for slot in slots} == {"OrdersService", "CatalogService"}
    assert all(slot.list_name.endswith("ImageTags") and slot.no_image == "no-image-yet" for slot in slots)


def test_a_first_deploy_runs_no_task_whatever_the_config_pins(aws, templates):
    choice = chosen(aws, templates, {})
    assert (choice.tag, choice.why) == ("no-image-yet", "none")


def test_the_config_tag_runs_once_its_repository_holds_it(aws, templates):
    slot = orders_slot(templates)
    aws.client("ecr").create_repository(repositoryName="orders")
    assert chosen(aws, templates, deployed(slot)).tag == "no-image-yet"
    push(aws, CONFIGURED)
    assert (chosen(aws, templates, deployed(slot)).tag, chosen(aws, templates, deployed(slot)).why) == \
        (CONFIGURED, "config")


def test_an_update_keeps_the_newer_image_the_pipeline_deployed(aws, templates):
    slot = orders_slot(templates)
    aws.client("ecr").create_repository(repositoryName="orders")
    push(aws, CONFIGURED)
    push(aws, NEWER)
    choice = chosen(aws, templates, deployed(slot, running(aws, NEWER)))
    assert (choice.tag, choice.why) == (NEWER, "running")


def test_a_config_tag_pushed_after_the_running_one_is_an_upgrade(aws, templates):
    slot = orders_slot(templates)
    aws.client("ecr").create_repository(repositoryName="orders")
    push(aws, NEWER)
    push(aws, CONFIGURED)
    choice = chosen(aws, templates, deployed(slot, running(aws, NEWER)))
    assert (choice.tag, choice.why) == (CONFIGURED, "newer in config")


def test_the_deploy_passes_whole_lists_and_keeps_one_given_explicitly(aws, templates):
    slot = orders_slot(templates)
    values = images.with_chosen_images(aws, templates, {}, [])
    (orders_list,) = [v for v in values if v.name == slot.list_name]
    assert orders_list.value.split(",")[slot.index] == "no-image-yet"
    assert orders_list.source.startswith("images: ")
    given = Value(slot.list_name, "x", "--parameter")
    assert given in images.with_chosen_images(aws, templates, {}, [given])


def test_the_pre_flight_accepts_what_the_deploy_passes_and_refuses_a_missing_image(aws, templates):
    slot = orders_slot(templates)
    passed = {v.name: v.value for v in images.with_chosen_images(aws, templates, {}, [])}
    target = preflight.Target(aws=aws, stack_name="tap-test", templates=templates, root_parameters=passed)
    assert list(preflight.image_problems(target)) == []
    aws.client("ecr").create_repository(repositoryName="orders")
    tags = passed[slot.list_name].split(",")
    tags[slot.index] = NEWER
    target = preflight.Target(aws=aws, stack_name="tap-test", templates=templates,
                              root_parameters={**passed, slot.list_name: ",".join(tags)},
                              deployed=deployed(slot))
    (problem,) = preflight.image_problems(target)
    assert f"runs image tag {NEWER}, which repository orders does not hold" in problem
