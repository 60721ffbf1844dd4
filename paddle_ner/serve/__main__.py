import sys

from paddle_ner.serve.cli import main

sys.exit(main())
