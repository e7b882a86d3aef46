pytest_plugins = ["tests.support.sshd"]
