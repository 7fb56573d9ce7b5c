"""Staff pages of the admin console, one module per topic, all on :data:`miniservice.admin.blueprint.bp`."""
