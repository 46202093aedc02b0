import sys

from flask_fargate.main import main

sys.exit(main())
