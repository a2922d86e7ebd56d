"""The Durable Functions HTTP management API over the task hub: the instance and entity routes of the
public webhooks and of the SDK client's endpoint, the 202 polling pattern, other task hubs named by a
request, and the client binding that points an app's durable client at them."""
