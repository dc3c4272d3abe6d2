from instructembed.cli.app import main

main()
