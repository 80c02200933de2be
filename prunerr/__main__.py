from prunerr.cli import main

raise SystemExit(main())
