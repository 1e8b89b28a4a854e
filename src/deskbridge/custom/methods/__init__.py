"""Methods of custom integrations: definitions, variables, test runs, output variables and the call log."""
