"""Azure Storage for the app's own bindings and triggers: the account a ``connection`` names, Azurite when
it is ``UseDevelopmentStorage=true``, binding expressions in paths and names, and the blob, queue and table
inputs and outputs around a function."""
