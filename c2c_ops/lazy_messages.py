"""Django's messages middleware, with the message store made only when a view uses it.

The stock middleware builds a cookie store (and its signer) for every request, API calls
and ingest included, to find on the way out that nothing was read or added: about a tenth
of a single status callback's time in the web process. A store never touched has nothing
to save, so skipping it changes no response.
"""

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    def process_request(self, request) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
