"""The HTTP front doors: the aiohttp servers (HTTP functions by route, the management webhooks, the SDK
client's endpoint), what guards them (loopback Host and Origin, function keys, Easy Auth headers), and the
answers to requests aiohttp's parser refuses."""
