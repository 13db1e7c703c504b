"""Ships an order and tells the customer (an email through the stack's SNS topic)."""

import json
import os

import boto3


def handler(event, context):
    order = event["detail"]
    print("shipping", order.get("sku"), "for event", event["id"])
    boto3.client("sns").publish(
        TopicArn=os.environ["TOPIC_ARN"],
        Subject="Order shipped",
        Message=json.dumps({"sku": order.get("sku"), "event": event["id"]}),
    )
    return {"shipped": order.get("sku")}
