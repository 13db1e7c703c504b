from ebdemo.cli import main

main()
