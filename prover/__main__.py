from prover.cli.app import main

main()
