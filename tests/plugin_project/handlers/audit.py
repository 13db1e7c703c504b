"""Sees every event of the shop, and prints nothing: ebdemo knows it ran all the same."""


def handler(event, context):
    return {"audited": event["detail-type"]}
