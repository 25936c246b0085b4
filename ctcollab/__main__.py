from ctcollab.cli import main

main()
