"""Wire schema shared with the server, and the console's HTTP transport."""
