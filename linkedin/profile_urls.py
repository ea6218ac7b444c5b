# Temporary re-export while the normaliser is being written in linkedin/urls.py;
# the lead moves it here and frees linkedin/urls.py for the URLconf.
from linkedin.urls import normalise_profile_url, profile_id_from_url  # noqa: F401
