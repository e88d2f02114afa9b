# Entry points.  `make test` is the test command CI calls; `make test-all` adds the long VM
# scenarios (Molecule per role, the e2e variants) that do not fit CI's 90 minutes beside it.
.PHONY: test test-all e2e variants quick unit sanity lint docs integration build claudefs lab molecule bootstrap demo demo-claudefs clean-labs image ee-context

test:            ## every tier, with a timing summary
	./scripts/test.sh

test-all:        ## every tier, including the long VM scenarios (Molecule, the e2e variants)
	./scripts/test.sh all

quick:           ## daily loop: unit tests, sanity and lint (no root, no VMs)
	./scripts/test.sh unit sanity lint

unit sanity lint docs integration build claudefs lab molecule e2e variants:
	./scripts/test.sh $@

bootstrap:       ## system packages, the pinned venv, the collection link
	./scripts/bootstrap.sh

image:           ## build (or find) the cached lab image
	./scripts/bootstrap.sh && .venv/bin/python tests/lab/labctl.py image

demo:            ## the README's demo: break the lab train server's OS disk and recover it
	./scripts/demo.sh

ee-context:      ## the execution environment's build context (execution-environment.yml) in .build/ee/context
	./scripts/bootstrap.sh
	rm -rf .build/ee && mkdir -p .build/ee
	.venv/bin/ansible-galaxy collection build --force --output-path .build/ee .
	mv .build/ee/resilience-dr-*.tar.gz .build/ee/resilience-dr.tar.gz
	.venv/bin/ansible-builder create -f execution-environment.yml -c .build/ee/context

demo-claudefs:   ## ClaudeFS emulator: a site loses its majority, cfs-recover-quorum.yml recovers it
	./scripts/bootstrap.sh && .venv/bin/python scripts/demo_claudefs.py

clean-labs:      ## stop and remove every lab VM on this machine
	python3 tests/lab/labctl.py gc --all
