from rucksack.cli import main

raise SystemExit(main())
