"""User-style topologies of the test tree: networks a user would bring, not shipped labs."""
