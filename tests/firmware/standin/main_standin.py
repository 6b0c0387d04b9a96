# TEST-ONLY entry point: the shipped firmware/main.py with the stand-in app of this
# directory (see app.py here), for tests/test_sim.py while firmware/app.py has not landed.
import main
import app  # this directory is first on sys.path: the stand-in

main.main(make_app=app.App)
